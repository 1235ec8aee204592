import pickle
import threading
from concurrent.futures import ProcessPoolExecutor

import pytest
from healthai_server.domain.clinical import ExtractionOptions
from healthai_server.engine import ENGINE_VERSION, ClinicalEngine

TEXT = "HPI: HTN, on lisinopril 10 mg daily. BP 150/90. Allergies: PCN."


def _extract_in_child(text: str) -> int:
    return len(ClinicalEngine().extract(text, ExtractionOptions()).conditions)


def test_constructs_in_a_spawned_child() -> None:
    import multiprocessing

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        assert pool.submit(_extract_in_child, TEXT).result(timeout=60) >= 1


def test_result_is_picklable_and_deterministic(engine: ClinicalEngine) -> None:
    first = engine.extract(TEXT)
    assert pickle.loads(pickle.dumps(first)) == first
    assert engine.extract(TEXT) == first
    assert ENGINE_VERSION


def test_thread_safe(engine: ClinicalEngine) -> None:
    expected = engine.extract(TEXT)
    results = []

    def work() -> None:
        for _ in range(20):
            results.append(engine.extract(TEXT) == expected)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results) and len(results) == 80


def test_no_note_text_in_output_streams(
    engine: ClinicalEngine, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Zebediah Quuxworth has HTN and takes lisinopril."
    engine.extract(secret)
    captured = capsys.readouterr()
    assert "Zebediah" not in captured.out + captured.err
    assert "Zebediah" not in caplog.text
