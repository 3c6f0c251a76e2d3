"""What an announcement says and how clips are kept on disk: no speech engine needed."""
import os
import time
from pathlib import Path

import pytest

from display.announcer import Announcer, spell_number
from display.voice.cache import ClipCache, clip_key
from display.voice.phrases import call_pieces, fixed_pieces

TEMPLATES = {"zh": "请 {number} 号到 {counter} 号窗口办理", "en": "Ticket {number}, please go to counter {counter}"}


@pytest.mark.parametrize(
    ("number", "zh", "en"),
    [
        ("A023", "A 零 二 三", "A zero two three"),
        ("B100", "B 一 零 零", "B one zero zero"),
        ("AB7", "A B 七", "A B seven"),
        ("a023", "A 零 二 三", "A zero two three"),
        (" c-45 ", "C 四 五", "C four five"),
    ],
)
def test_spell_number_reads_character_by_character(number, zh, en):
    assert spell_number(number, "zh") == zh
    assert spell_number(number, "en") == en


def test_spell_number_leaves_digits_to_voices_without_digit_words():
    assert spell_number("A023", "fr") == "A 0 2 3"


def test_call_is_split_into_template_words_characters_and_counter():
    assert call_pieces(TEMPLATES["zh"], "A023", 3, "zh") == ["请", "A", "零", "二", "三", "号到", "3", "号窗口办理"]
    assert call_pieces(TEMPLATES["en"], "A023", "12", "en") == [
        "Ticket", "A", "zero", "two", "three", ", please go to counter", "12",
    ]


def test_fixed_pieces_cover_every_call_up_to_max_counter():
    fixed = set(fixed_pieces(TEMPLATES["zh"], "zh", 30))
    for number, counter in [("A023", 3), ("Z999", 30), ("B100", 1)]:
        assert set(call_pieces(TEMPLATES["zh"], number, counter, "zh")) <= fixed
    assert "31" not in fixed


def test_templates_are_checked_when_the_announcer_is_made(tmp_path):
    with pytest.raises(ValueError, match="ticket"):
        Announcer(tmp_path, {"zh": "请 {ticket} 号", "en": TEMPLATES["en"]})
    with pytest.raises(ValueError, match="en"):
        Announcer(tmp_path, {"zh": TEMPLATES["zh"]})


@pytest.mark.parametrize(
    "key", ["../x", "abc/..", "", "..", "/etc/passwd", "0" * 31 + "/", "0" * 32 + "/../x", "0" * 32, "F" * 32]
)
def test_path_for_rejects_malformed_and_unknown_keys(tmp_path, key):
    (tmp_path / "x.wav").write_bytes(b"")
    announcer = Announcer(tmp_path / "cache", TEMPLATES)
    (tmp_path / "cache" / f"{'F' * 32}.wav").write_bytes(b"")  # upper case is not a key
    assert announcer.path_for(key) is None


def test_path_for_finds_a_cached_clip(tmp_path):
    key = "0123456789abcdef" * 2
    (tmp_path / f"{key}.wav").write_bytes(b"")
    assert Announcer(tmp_path, TEMPLATES).path_for(key) == Path(tmp_path / f"{key}.wav")


def test_prune_removes_only_clips_unused_for_long(tmp_path):
    cache = ClipCache(tmp_path)
    old, recent = clip_key("old"), clip_key("recent")
    for name in (f"{old}.wav", f"{recent}.wav", "chime.wav", ".stray.tmp"):
        (tmp_path / name).write_bytes(b"")
    long_ago = time.time() - 3600
    for name in (f"{old}.wav", "chime.wav", ".stray.tmp"):
        os.utime(tmp_path / name, (long_ago, long_ago))
    assert cache.hit(recent) and not cache.hit(clip_key("never made"))
    assert cache.prune(60) == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([f"{recent}.wav", "chime.wav"])
