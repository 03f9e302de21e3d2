"""English and toneless pinyin into the Chinese words the matcher and the red-flag rules read.

The description step accepts Chinese, pinyin and English, so every one of them is checked for red flags.
English phrases come from ``nlp/data/english.tsv`` (a small glossary into the same concepts); pinyin is
segmented into syllables and matched, longest first, against the pinyin of every word the rules and the
lexicon know, so a rule written in Chinese also reads "xiong kou teng, chu leng han".
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable

# Every toneless Mandarin syllable (ü written v), the alphabet pinyin input is segmented into.
_SYLLABLES = frozenset("""
a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang cao ce cen ceng
cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui chun chuo ci cong cou cu
cuan cui cun cuo da dai dan dang dao de dei den deng di dia dian diao die ding diu dong dou du duan dui dun duo e
ei en eng er fa fan fang fei fen feng fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan
guang gui gun guo ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui hun huo ji jia jian
jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke kei ken keng kong kou ku kua kuai kuan
kuang kui kun kuo la lai lan lang lao le lei leng li lia lian liang liao lie lin ling liu lo long lou lu lv luan
lue lve lun luo ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao
ne nei nen neng ni nian niang niao nie nin ning niu nong nou nu nv nuan nue nve nuo o ou pa pai pan pang pao pei
pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu quan que qun ran
rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa sai san sang sao se sen seng sha shai shan shang
shao she shei shen sheng shi shou shu shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo ta
tai tan tang tao te teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo wu
xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying yo yong you yu yuan
yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe zhei zhen zheng zhi zhong zhou zhu zhua
zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun zuo
""".split())  # noqa: SIM905 (the syllable table reads best as text)
_MAX_SYLLABLE = 6
_MAX_WORD_SYLLABLES = 8
_ASCII_RUN = re.compile(r"[a-z][a-z' ]*[a-z]|[a-z]")
_WORD = re.compile(r"[a-z]+")
_ENGLISH_SHARE = 0.3
_LATIN = re.compile(r"[a-z]")
# A reading's cost per piece: our words win a tie against everyday words ("chou chu le" is 抽搐了, not 抽除了).
_OURS, _EVERYDAY = 1.0, 1.1
_LOCK = threading.Lock()
_NUMBERS = {"yi": "一", "er": "二", "liang": "两", "san": "三", "si": "四", "wu": "五", "liu": "六", "qi": "七",
            "ba": "八", "jiu": "九", "shi": "十", "bai": "百", "qian": "千", "ban": "半", "ji": "几", "duo": "多",
            "ge": "个"}
_UNITS = {"tian": "天", "sui": "岁", "zhou": "周", "ci": "次", "nian": "年", "yue": "月", "fen": "分", "kou": "口",
          "dun": "顿", "bei": "杯", "wan": "碗", "hui": "回", "ge": "个"}
_PADDING = re.compile(r"[ ]*\x00[ ]*")
# "220 over 130" is how a blood pressure is said in English.
_OVER = re.compile(r"(?<!\d)(\d{2,3})\s*over\s*(\d{2,3})(?!\d)")
_FULL_STOP = re.compile(r"(?<![\d.])\.(?=\s|$)")


def _segment(word: str) -> list[str] | None:
    """Split one run of letters into pinyin syllables (fewest syllables wins), or None if it is not pinyin."""
    word = word.replace("ü", "v").replace("u:", "v")
    n = len(word)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        if best[i] is None:
            continue
        for j in range(min(n, i + _MAX_SYLLABLE), i, -1):
            syl = word[i:j]
            if syl in _SYLLABLES:
                cand = best[i] + [syl]  # type: ignore[operator]
                if best[j] is None or len(cand) < len(best[j]):  # type: ignore[arg-type]
                    best[j] = cand
    return best[n]


def _pinyin_keys(word: str) -> list[tuple[str, ...]]:
    """The word's reading, and its characters' own readings where they differ (出血: "chu xie", "chu xue")."""
    from pypinyin import Style, lazy_pinyin  # only once a pinyin message arrives
    whole = tuple(s.replace("ü", "v") for s in lazy_pinyin(word, style=Style.NORMAL, errors="ignore"))
    chars = tuple(
        s.replace("ü", "v") for ch in word for s in lazy_pinyin(ch, style=Style.NORMAL, errors="ignore"))
    return [whole] if chars == whole else [whole, chars]


class LanguageBridge:
    """Turns the English and pinyin parts of a normalised text into Chinese words (the rest is left alone)."""

    def __init__(self, english: dict[str, str], vocabulary: Iterable[str], syllables: dict[str, str],
                 everyday: Callable[[], Iterable[str]] | None = None, dialect: dict[str, str] | None = None):
        self._dialect = dialect or {}
        # "唔" is Hakka's 不 before a word ("看唔见"); alone it is an interjection and stays.
        self._dialect_re = (
            re.compile("|".join(re.escape(k) + ("(?=[\u4e00-\u9fff])" if k == "唔" else "")
                                for k in sorted(self._dialect, key=len, reverse=True)))
            if self._dialect else None
        )
        self._dialect_first = frozenset(k[0] for k in self._dialect)
        self._english = english
        self._english_re = (
            re.compile(r"(?<![a-z])(?:" + "|".join(re.escape(k) for k in sorted(english, key=len, reverse=True))
                       + r")(?![a-z])")
            if english else None
        )
        # Earlier vocabulary wins a homophone: the caller lists red-flag words before lexicon words. Everyday words
        # ("chuang shang" is 床上, not 上吊 read from "...chuang shang diao...") come after ours, most frequent first.
        # Both are read in when the first pinyin message arrives: a Chinese-only service never pays for them.
        self._vocabulary: list[str] | None = list(vocabulary)
        self._everyday = everyday
        self._words: dict[tuple[str, ...], tuple[str, float]] = {}
        self._single = syllables

    def _load_words(self) -> None:
        from pypinyin import Style, lazy_pinyin

        with _LOCK:
            if self._vocabulary is None:
                return
            words: dict[tuple[str, ...], tuple[str, float]] = {}
            for word in self._vocabulary:
                if not word or word.isascii() or len(word) > _MAX_WORD_SYLLABLES:
                    continue
                for key in _pinyin_keys(word):  # 出血 is "chu xue" as well as "chu xie"
                    if len(key) == len(word) and len(key) >= 2:
                        words.setdefault(key, (word, _OURS))
            for word in self._everyday() if self._everyday is not None else ():
                key = tuple(lazy_pinyin(word, style=Style.NORMAL, errors="ignore"))
                if len(key) == len(word):
                    words.setdefault(key, (word, _EVERYDAY))
            self._words = words
            self._vocabulary = None

    def translate(self, text: str) -> str:
        """``text`` with dialect words, English phrases and pinyin runs replaced by Chinese; unchanged when it has
        none of them."""
        if self._dialect_re is not None and not self._dialect_first.isdisjoint(text):
            text = self._dialect_re.sub(lambda m: self._dialect[m.group(0)], text)
        if _LATIN.search(text) is None:
            return text
        letters = sum("a" <= ch <= "z" for ch in text)
        if letters <= sum("\u3400" <= ch <= "\u9fff" for ch in text):
            return text  # Chinese with an abbreviation or two ("做了ct和b超")
        words = _WORD.findall(text)
        # A message mostly of words that are not pinyin is English: its leftover words ("damage") are not
        # read as syllables (大妈), they are dropped.
        english = sum(_segment(w) is None for w in words) > _ENGLISH_SHARE * len(words)
        text = _FULL_STOP.sub("。", text)  # an English sentence ends a clause as 。 does
        text = _OVER.sub(r"\1/\2", text)
        if self._english_re is not None:
            # Translations join their neighbours without spaces, as Chinese is written ("没有抽搐").
            text = self._english_re.sub(lambda m: "\x00" + self._english[m.group(0)] + "\x00", text)
            text = _PADDING.sub("", text)
        return _ASCII_RUN.sub(lambda m: self._ascii_run(m, english), text)

    def _ascii_run(self, m: re.Match[str], english: bool) -> str:
        if english:
            # English words the glossary does not know are dropped, so the words it did translate come together
            # as a Chinese phrase would.
            return ""
        if self._vocabulary is not None:
            self._load_words()
        out: list[str] = []
        syllables: list[str] = []
        for word in _WORD.findall(m.group(0)):
            seg = _segment(word)
            if seg is None:  # a typo or a stray English word inside pinyin ("shuo bu chu hau"): skip just it
                out.append(self._words_for(syllables))
                syllables = []
                continue
            syllables.extend(seg)
        out.append(self._words_for(syllables))
        return "".join(out)

    def _words_for(self, syllables: list[str]) -> str:
        """The reading of a syllable run with the fewest pieces: our words and everyday words first, then
        single syllables; "wo bu xiang huo le" is 我 + 不想活了, not 握不 + ..."""
        n = len(syllables)
        best: list[tuple[float, list[str]] | None] = [None] * (n + 1)
        best[0] = (0.0, [])
        for i in range(n):
            if best[i] is None:
                continue
            cost, pieces = best[i]  # type: ignore[misc]
            options: list[tuple[int, float, str]] = []
            j = i
            while j < n and syllables[j] in _NUMBERS:
                j += 1
            if j - i == 1 and j < n and syllables[j] in _UNITS:
                j += 1  # "si tian" is 四天
            if j - i >= 2:  # "er bai si" is 二百四, not 二白四
                options.append((j, 0.8, "".join(_NUMBERS.get(s) or _UNITS[s] for s in syllables[i:j])))
            for k in range(i + 2, min(n, i + _MAX_WORD_SYLLABLES) + 1):
                found = self._words.get(tuple(syllables[i:k]))
                if found is not None:
                    options.append((k, found[1], found[0]))
            single = self._single.get(syllables[i])
            options.append((i + 1, 1.2 if single else 1.5, single or ""))
            for k, step, word in options:
                cand = (cost + step, [*pieces, word])
                current = best[k]
                if current is None or cand[0] < current[0]:
                    best[k] = cand
        final = best[n]
        assert final is not None
        return "".join(final[1])
