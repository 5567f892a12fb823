"""Screening benchmarks: text screening throughput with a realistic word list against a
plain `str.find` loop over the same words, and OCR time per rendered notice image.

Run alone: `.venv/bin/python -m bench.bench_screening [--quick]` prints JSON.
Each figure: name, value, unit, baseline (measured in the same run), ratio, goal.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time

import pytesseract

from content import Notice, Target, render_notice
from server.screening import Matcher, ocr

WORDS = 2000
BODY = ("因市政管网维修，本小区将于12月3日（周三）8:00至18:00停水，请居民提前做好储水准备。"
        "如有疑问请联系物业服务中心。近期电信诈骗高发，陌生来电要求转账的一律是骗子，"
        "请勿点击短信链接，勿向陌生人透露验证码。")


def _figure(name: str, value: float, unit: str, baseline: float, goal: str) -> dict:
    ratio = value / baseline if baseline else 0.0
    return {"name": name, "value": round(value, 3), "unit": unit,
            "baseline": round(baseline, 3), "ratio": round(ratio, 4), "goal": goal}


def _word_list(n: int) -> list[tuple[str, str]]:
    """`n` two- to four-character words of common characters (GB2312 level 1), as a list
    from the authority looks; one in ten blocks, the rest flag."""
    rnd = random.Random(7)
    common = [bytes([hi, lo]).decode("gb2312") for hi in range(0xB0, 0xD8)
              for lo in range(0xA1, 0xFF) if (hi, lo) < (0xD7, 0xFA)]
    words: dict[str, str] = {"诈骗": "block", "转账": "flag"}
    while len(words) < n:
        word = "".join(rnd.choice(common) for _ in range(rnd.randint(2, 4)))
        words.setdefault(word, "block" if rnd.random() < 0.1 else "flag")
    return list(words.items())


def _texts(total_chars: int) -> list[str]:
    """Notice-sized texts (about 100 characters), some with spaces put into words."""
    rnd = random.Random(11)
    out, n = [], 0
    while n < total_chars:
        text = BODY if rnd.random() < 0.7 else BODY.replace("诈骗", "诈 骗")
        out.append(text)
        n += len(text)
    return out


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def screening_figures(total_chars: int, repeat: int) -> list[dict]:
    words = _word_list(WORDS)
    texts = _texts(total_chars)
    chars = sum(map(len, texts))
    t = time.perf_counter()
    matcher = Matcher(words)
    build_s = time.perf_counter() - t
    plain = [w for w, _a in words]

    def screen() -> None:
        for text in texts:
            matcher.find("notice_body", text)

    def baseline() -> None:  # no normalisation: "诈 骗" and "詐騙" pass it
        for text in texts:
            [w for w in plain if text.find(w) >= 0]

    ours, base = _best(screen, repeat), _best(baseline, repeat)
    return [
        _figure(f"screening throughput, {WORDS} words (normalised, Aho-Corasick)",
                chars / ours, "chars/s", chars / base, "≥ str.find loop"),
        _figure(f"matcher build, {WORDS} words (once per list version)", build_s * 1000, "ms",
                ours / len(texts) * 1000, "baseline: screening one notice, ms"),
    ]


def ocr_figures(repeat: int) -> list[dict]:
    notice = Notice(title="防诈提醒", body="请勿相信电话诈骗，陌生来电要求转账的一律是骗子。")
    out = []
    for width, height in ((1920, 320), (384, 192)):
        image = render_notice(notice, Target(width, height, "full")).images[0]
        ours, raw, read = [], [], ""
        for _ in range(repeat):
            t = time.perf_counter()
            read = ocr.read_image(image)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            pytesseract.image_to_string(image, lang=ocr.LANG)
            raw.append(time.perf_counter() - t)
        caught = "诈骗" in read.replace(" ", "")
        out.append(_figure(f"OCR per image {width}x{height} (prepared; blocked word read: "
                           f"{'yes' if caught else 'NO'})", statistics.median(ours) * 1000, "ms",
                           statistics.median(raw) * 1000, "baseline: Tesseract on the raw image"))
    return out


def run(quick: bool = False) -> list[dict]:
    figures = screening_figures(20_000 if quick else 200_000, 2 if quick else 5)
    figures += ocr_figures(1 if quick else 5)
    return figures


def main(argv: list[str]) -> None:
    print(json.dumps(run(quick="--quick" in argv), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
