import pytest

from printer.faults import PrinterFault
from printer.status import check_status

HEALTHY = {1: 0x16, 2: 0x12, 4: 0x12}


def asker(answers: dict[int, int]):
    def ask(query: bytes) -> int:
        assert query[:2] == b"\x10\x04"
        return answers[query[2]]

    return ask


def test_healthy_printer_passes():
    check_status(asker(HEALTHY))


@pytest.mark.parametrize(
    ("changes", "kind"),
    [
        ({4: 0x72}, "paper_out"),
        ({2: 0x32}, "paper_out"),
        ({1: 0x1E, 2: 0x16}, "cover_open"),
        ({1: 0x1E, 2: 0x52}, "error"),
        ({1: 0x1E}, "offline"),
        ({2: 0xFF}, "error"),
    ],
    ids=["paper-sensor", "stopped-by-paper-end", "cover", "mechanism", "offline", "garbled"],
)
def test_status_bits_map_to_faults(changes, kind):
    with pytest.raises(PrinterFault) as raised:
        check_status(asker({**HEALTHY, **changes}))
    assert raised.value.kind == kind


def test_near_end_paper_still_prints():
    check_status(asker({**HEALTHY, 4: 0x1E}))
