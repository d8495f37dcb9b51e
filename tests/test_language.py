import pytest

from newsflow.transforms.language import MIN_LETTERS, build_detector_factory, detect_language


@pytest.fixture(scope="module")
def factory():
    return build_detector_factory()


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
