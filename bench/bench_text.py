"""Text frontend throughput: sentences/second over a 1,000-sentence mixed zh/en corpus.

The corpus is generated deterministically here (seeded templates: Chinese with numbers, dates,
times, phone numbers and percentages; English with money, times and acronyms; zh+en mixtures).
Run:

    python bench/bench_text.py              # 1,000 sentences, request language "zh" (mixed runs)
    python bench/bench_text.py --g2pw-dir DIR [--g2pw-tokenizer-dir TOK]   # + G2PW vs pypinyin

Printed side by side, measured in the same run on the same corpus:
- "cold": first pass after clearing the per-word memo tables (dictionaries already loaded);
- "warm": second pass over the same corpus (memo tables filled) — the steady state of a server.
The one-off dictionary load (every language's dictionaries and models) is printed separately.
Then, in the same run, warm sentences/s per request language (zh, en, ja, ko, yue) on seeded
single-language corpora of the same size.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from gpt_sovits.text.frontend import clear_caches, text_to_phones, warm_up
from gpt_sovits.text.g2p_zh import SentenceReader
from gpt_sovits.text.g2pw import load_reader

_ZH_SUBJECTS = ["我", "他们", "这个系统", "小明", "我们的团队", "公司", "老师", "这家餐厅"]
_ZH_VERBS = ["今天完成了", "计划在下午", "一共卖出了", "必须重新检查", "不能忘记", "已经准备好"]
_ZH_OBJECTS = ["新的方案", "一段长长的代码", "所有的订单", "音乐会的门票", "明天的会议", "银行的手续"]
_EN_SUBJECTS = ["The team", "Our server", "Dr. Smith", "NASA", "My friend", "The new API"]
_EN_VERBS = ["shipped", "processed", "reviewed", "will publish", "measured", "bought"]
_EN_OBJECTS = ["the report", "twelve models", "a GitHub repo", "the JSON output", "new features"]
_EN_WORDS = ["ChatGPT", "Python", "latency", "GPU", "Kubernetes", "benchmark", "OK"]


def _number(rng: random.Random) -> str:
    return rng.choice(
        [
            f"{rng.randint(2, 9999)}",
            f"{rng.randint(1, 99)}.{rng.randint(1, 9)}",
            f"{rng.randint(1, 99)}%",
            f"{rng.randint(1990, 2030)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日",
            f"{rng.randint(0, 23)}:{rng.randint(0, 59):02d}",
            f"138{rng.randint(10000000, 99999999)}",
            f"{rng.randint(1, 9)}/{rng.randint(2, 9)}",
        ]
    )


def _zh(rng: random.Random) -> str:
    return f"{rng.choice(_ZH_SUBJECTS)}{rng.choice(_ZH_VERBS)}{_number(rng)}个{rng.choice(_ZH_OBJECTS)}。"


def _en(rng: random.Random) -> str:
    money = f"${rng.randint(1, 500)}.{rng.randint(10, 99)}"
    clock = f"{rng.randint(1, 12)}:{rng.randint(10, 59)}"
    return (
        f"{rng.choice(_EN_SUBJECTS)} {rng.choice(_EN_VERBS)} {rng.choice(_EN_OBJECTS)} "
        f"for {money} at {clock}, about {rng.randint(2, 99)}% faster."
    )


def _mixed(rng: random.Random) -> str:
    zh = (
        f"{rng.choice(_ZH_SUBJECTS)}用{rng.choice(_EN_WORDS)}{rng.choice(_ZH_VERBS)}{rng.choice(_ZH_OBJECTS)}"
    )
    return f"{zh}，{_en(rng)}"


_JA = (
    ["私は", "彼女は", "東京の会社は", "先生が"],
    ["毎朝", "昨日", "2024年3月に"],
    ["新しい本を読みました。", "コーヒーを飲みます。", "会議を始めます。"],
)
_KO = (
    ["저는 ", "우리 팀은 ", "선생님이 "],
    ["오늘 ", "어제 ", "3시에 "],
    ["책을 읽었어요.", "커피를 마셔요.", "회의를 시작합니다."],
)
_YUE = (["我哋", "佢", "呢間公司"], ["今日", "聽日", "下晝3點"], ["去飲茶。", "食咗飯未呀？", "好鍾意睇書。"])
_SINGLE = {"ja": _JA, "ko": _KO, "yue": _YUE}


def make_language_corpus(language: str, count: int, seed: int = 0) -> list[str]:
    """``count`` seeded sentences in one language (zh and en from the templates above)."""
    rng = random.Random(seed)
    if language in ("zh", "en"):
        maker = _zh if language == "zh" else _en
        return [maker(rng) for _ in range(count)]
    parts = _SINGLE[language]
    return ["".join(rng.choice(options) for options in parts) for _ in range(count)]


def per_language(count: int) -> None:
    """Warm sentences/s per request language, each on its own seeded corpus (best of 2 passes)."""
    for language in ("zh", "en", "ja", "ko", "yue"):
        corpus = make_language_corpus(language, count)
        run_pass(corpus, language)  # fill the memo tables
        best = min(run_pass(corpus, language)[0] for _ in range(2))
        print(f"  {language:>3}: {count / best:8.1f} sentences/s  ({best * 1000 / count:.2f} ms/sentence)")


def make_corpus(count: int, seed: int = 0) -> list[str]:
    """``count`` sentences: one third each Chinese, English and mixed, in a seeded order."""
    rng = random.Random(seed)
    makers = [_zh, _en, _mixed]
    return [makers[i % 3](rng) for i in range(count)]


def run_pass(corpus: list[str], language: str, reader: SentenceReader | None = None) -> tuple[float, int]:
    """Seconds for one pass over the corpus, and the phone count (a checksum of the work)."""
    start = time.perf_counter()
    phones = sum(len(text_to_phones(text, language, reader).phone_ids) for text in corpus)
    return time.perf_counter() - start, phones


def compare_g2pw(corpus: list[str], language: str, folder: Path, tokenizer: Path | None) -> None:
    """Warm throughput with the G2PW reader of ``folder`` vs pypinyin, interleaved, best of 3 each."""
    reader = load_reader(folder, tokenizer)
    run_pass(corpus, language, reader)  # fill the tokenizer memo and onnxruntime's first-run state
    plain: list[float] = []
    with_g2pw: list[float] = []
    for _ in range(3):
        plain.append(run_pass(corpus, language)[0])
        with_g2pw.append(run_pass(corpus, language, reader)[0])
    n = len(corpus)
    print(f"G2PW ({folder}): {n / min(with_g2pw):8.1f} sentences/s vs pypinyin {n / min(plain):8.1f}")
    print(f"G2PW cost: {min(with_g2pw) / min(plain):.2f}x the pypinyin pass (best of 3, interleaved)")


def main() -> None:
    """Measure and print cold vs warm throughput."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--language", default="zh")
    parser.add_argument("--g2pw-dir", type=Path, help="also time this local G2PW model folder")
    parser.add_argument("--g2pw-tokenizer-dir", type=Path, help="its tokenizer folder, if elsewhere")
    args = parser.parse_args()

    corpus = make_corpus(args.sentences)
    start = time.perf_counter()
    warm_up()
    load_s = time.perf_counter() - start

    clear_caches()
    cold_s, cold_phones = run_pass(corpus, args.language)
    warm_s, warm_phones = run_pass(corpus, args.language)
    assert cold_phones == warm_phones, "cached and uncached passes disagree"

    n = len(corpus)
    print(f"corpus: {n} sentences (seeded, zh/en/mixed thirds), language={args.language!r}")
    print(f"dictionary load (all languages, once per process): {load_s:.2f} s")
    print(f"baseline cold caches: {n / cold_s:8.1f} sentences/s  ({cold_s * 1000 / n:.2f} ms/sentence)")
    print(f"warm caches:          {n / warm_s:8.1f} sentences/s  ({warm_s * 1000 / n:.2f} ms/sentence)")
    print(f"speed-up warm vs cold: {cold_s / warm_s:.2f}x; phones per pass: {warm_phones}")
    print("per request language (warm):")
    per_language(min(n, 300))
    if args.g2pw_dir is not None:
        compare_g2pw(corpus, args.language, args.g2pw_dir, args.g2pw_tokenizer_dir)


if __name__ == "__main__":
    main()
