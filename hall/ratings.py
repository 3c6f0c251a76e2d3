"""Satisfaction levels of 政务服务"好差评" (GB/T 39734), shared by the rating pages, complaints and reports."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: Rating → the standard's name, best first.
LEVELS = {5: _l("Very satisfied"), 4: _l("Satisfied"), 3: _l("Basically satisfied"), 2: _l("Dissatisfied"),
          1: _l("Very dissatisfied")}
#: 满意率: very satisfied, satisfied and basically satisfied count as satisfied.
SATISFIED_FROM = 3
#: A rating this low (不满意, 非常不满意) is a 差评: it opens a complaint case.
BAD_UPTO = 2
#: Optional sub-ratings, the standard's offline indicators for halls.
ASPECTS = {"efficiency": _l("Efficiency"), "competence": _l("Competence"), "attitude": _l("Attitude")}

#: Reason chips: praise for a good rating, complaints for a poor one.
PRAISE = {"fast": _l("Quick"), "friendly": _l("Friendly"), "clear": _l("Clear explanation"),
          "one_visit": _l("Done in one visit")}
COMPLAINTS = {"long_wait": _l("Long wait"), "slow": _l("Slow handling"), "unclear": _l("Unclear explanation"),
              "attitude": _l("Unfriendly"), "materials": _l("Materials not explained at once")}
REASONS = {**PRAISE, **COMPLAINTS}
