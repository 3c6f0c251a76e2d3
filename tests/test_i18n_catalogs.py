"""Every screen keeps its own Chinese catalog; Flask-Babel merges them into one, so the same
English text must not be translated two ways (one screen would silently show the other's)."""
from babel.messages.pofile import read_po

from hall.i18n import translation_folders


def test_no_text_is_translated_two_ways():
    seen: dict[tuple, tuple[str, str]] = {}
    clashes = []
    for folder in translation_folders():
        for po_path in folder.glob("*/LC_MESSAGES/messages.po"):
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            for message in catalog:
                if not message.id:
                    continue
                key = (po_path.parent.parent.name, str(message.id), message.context)
                first = seen.setdefault(key, (str(po_path), str(message.string)))
                if first[1] != str(message.string):
                    clashes.append(f"{message.id!r}: {first[1]} ({first[0]}) vs {message.string} ({po_path})")
    assert not clashes, "\n".join(clashes)


def test_every_catalog_entry_is_translated():
    for folder in translation_folders():
        for po_path in folder.glob("zh/LC_MESSAGES/messages.po"):
            with po_path.open("rb") as po_file:
                missing = [m.id for m in read_po(po_file) if m.id and not m.string]
            assert not missing, f"{po_path}: {missing}"
