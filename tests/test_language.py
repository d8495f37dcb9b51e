import pytest

from newsflow.transforms.language import MIN_LETTERS, build_detector_factory, detect_language


@pytest.fixture(scope="module")
def factory():
    return build_detector_factory()


def stock_factory():
    """langdetect's own profile loading (and our seed), for comparisons."""
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    from newsflow.transforms.language import SEED

    stock = DetectorFactory()
    stock.load_profile(PROFILES_DIRECTORY)
    stock.seed = SEED
    return stock


def test_profiles_hold_langdetects_own_rows(factory):
    """Rows made on demand are the rows langdetect builds at load time: same n-grams in the
    same order, same languages, the same float for every language of every n-gram."""
    stock = stock_factory()
    rows = factory.word_lang_prob_map
    assert factory.langlist == stock.langlist and len(stock.langlist) == 55
    assert list(rows) == list(stock.word_lang_prob_map)
    assert all(rows[word] == row for word, row in stock.word_lang_prob_map.items())
    assert "zzzz-not-an-ngram" not in rows
    with pytest.raises(KeyError):
        rows["zzzz-not-an-ngram"]


TEXTS = {
    "en": "The government announced on Monday a new plan to support small businesses "
          "across the country, officials said after a cabinet meeting.",
    "de": "Die Bundesregierung hat am Montag einen neuen Plan zur Unterstützung kleiner "
          "Unternehmen im ganzen Land angekündigt, teilten Beamte mit.",
    "fr": "Le gouvernement a annoncé lundi un nouveau plan pour soutenir les petites "
          "entreprises dans tout le pays, ont indiqué des responsables.",
    "es": "El gobierno anunció el lunes un nuevo plan para apoyar a las pequeñas empresas "
          "de todo el país, dijeron los funcionarios tras la reunión.",
    "zh-cn": "政府星期一宣布了一项支持全国小企业的新计划，"
             "官员在内阁会议后表示，这项计划将在下个月开始实施。",
}


@pytest.mark.parametrize("expected", sorted(TEXTS))
def test_detects_language_lower_case(factory, expected):
    language, probability = detect_language(TEXTS[expected], factory)
    assert language == expected
    assert 0.5 < probability <= 1.0


def test_deterministic_across_factories(factory):
    mixed = "Der Plan ist gut. The plan is good. Le plan est bon. " * 3
    results = {detect_language(mixed, build_detector_factory()) for _ in range(3)}
    results.add(detect_language(mixed, factory))
    assert len(results) == 1


def test_too_little_text_is_undetermined(factory):
    assert detect_language("Hello world", factory) == ("und", None)
    assert detect_language("1234 5678 !!! ---" * 20, factory) == ("und", None)
    assert MIN_LETTERS >= 20


ODD_TEXTS = [
    "Η κυβέρνηση ανακοίνωσε τη Δευτέρα ένα νέο σχέδιο για το plan και το budget",
    "Москва, 3 декабря. Правительство объявило в понедельник о новом плане поддержки.",
    "وقالت الحكومة يوم الاثنين إنها ستدعم الشركات الصغيرة في جميع أنحاء البلاد یک",  # Farsi yeh
    "東京の政府は月曜日に、全国の中小企業を支援する新しい計画を発表した。カタカナ テスト",
    "정부는 월요일 전국의 중소기업을 지원하는 새로운 계획을 발표했다고 밝혔다.",
    "Chính phủ đã công bố kế hoạch mới vào thứ Hai",  # precomposed letters
    # combining marks
    "Chi\u0301nh phu\u0309 đa\u0303 công bô\u0301 kê\u0301 hoa\u0323ch mơ\u0301i",
    "Guvernul a anunțat luni un nou plan de sprijin pentru întreprinderile mici și mijlocii",
    "THE GOVERNMENT ANNOUNCED on Monday A NEW PLAN, see https://example.com/a?b=1 or mail "
    "press@example.com   for   more [details] `here` and_there ^ \\ ] ",
    "政府 announced 计划 CEO 星期一 宣布了 plan 一项 支持 全国 小企业 的 新计划 OK",
    "ÀÉÎÕÜ àéîõü ßÆØÅ æøå ÇÑ çñ ¿¡ «» ×÷ ŒœŸ ƒ ǅǈ ȘșȚț ḀḁẞỳỲ ‘quoted’ “double” …",
    "1234 5678 !!! ??? ... ---",  # no n-gram features
]


def test_fast_detector_answers_exactly_as_langdetect(factory, shared_dir):
    """The rewritten loops give langdetect's own probabilities, digit for digit, on the
    devset's reference texts, the examples above and odd scripts, marks and markup."""
    from langdetect.lang_detect_exception import LangDetectException

    from newsflow.transforms.language import SAMPLE_CHARS, fast_detector_class

    references = sorted((shared_dir / "devset/newspaper4k/txt").glob("*.txt"))
    texts = [path.read_text("utf-8")[:SAMPLE_CHARS] for path in references]
    texts += [*TEXTS.values(), *ODD_TEXTS]
    assert len(texts) >= 40

    def probabilities(detector, text):
        detector.append(text)
        try:
            return [(found.lang, found.prob) for found in detector.get_probabilities()]
        except LangDetectException as error:
            return str(error)

    fast = fast_detector_class()
    stock = [probabilities(stock_factory().create(), text) for text in texts]
    assert [probabilities(fast(factory), text) for text in texts] == stock
    assert "No features in text." in stock  # the failure path is compared too
    assert len({answer[0][0] for answer in stock if isinstance(answer, list)}) >= 8


def test_fast_detector_reads_langdetects_own_ngrams(factory, shared_dir):
    """Word by word (each distinct word worked out once) gives langdetect's per-character
    n-gram sequence exactly, in order: its random draws pick by position in it."""
    from newsflow.transforms.language import SAMPLE_CHARS, fast_detector_class

    references = sorted((shared_dir / "devset/newspaper4k/txt").glob("*.txt"))
    texts = [path.read_text("utf-8")[:SAMPLE_CHARS] for path in references]
    texts += [*TEXTS.values(), *ODD_TEXTS, "ends with a space ", "  leading  and  double  "]

    def ngrams(detector, text):
        detector.append(text)
        detector.cleaning_text()
        return detector._extract_ngrams()

    fast, stock = fast_detector_class(), stock_factory()
    for text in texts + texts:  # the second time from the word cache
        expected = ngrams(stock.create(), text)
        assert ngrams(fast(factory), text) == expected
    assert sum(len(ngrams(fast(factory), text)) for text in texts) > 10_000
