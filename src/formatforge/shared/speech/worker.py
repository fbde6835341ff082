"""A speech worker process: ``python -m formatforge.shared.speech.worker JOB.json``.

Task "serve": a pool worker that speaks sentences into the speech cache and encodes
units into the unit store as the parent sends them, one line each, and answers one line
per task. Tasks "phonemes", "silent" and "time" ask the engine once.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from .cache import SpeechCache
from .encode import peak, trim_silence
from .engines import VoiceSettings, make_engine


def _report(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(job_path: str) -> int:
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    if job["task"] == "serve":
        return serve(job)
    engine = make_engine(VoiceSettings(**job["settings"]))
    if job["task"] == "phonemes":
        if not hasattr(engine, "phonemes"):
            raise SystemExit(f"the {engine.name} engine cannot show phonemes")
        json.dump({"phonemes": engine.phonemes(job["text"])}, sys.stdout)
        return 0
    if job["task"] == "silent":
        json.dump({"silent": [char for char in job["characters"] if _says_nothing(engine, char)]}, sys.stdout)
        return 0
    if job["task"] == "time":
        # Warm up first: the first utterance pays for loading voice data.
        engine.synthesise(job["text"])
        timings = []
        for _ in range(job["repeat"]):
            started = time.perf_counter()
            speech = engine.synthesise(job["text"])
            timings.append(time.perf_counter() - started)
        json.dump({"seconds": sorted(timings)[len(timings) // 2], "audio_seconds": speech.seconds}, sys.stdout)
        return 0
    raise SystemExit(f"unknown task {job['task']!r}")


def serve(job: dict) -> int:
    """A pool worker (``processes.Pool``): one task a line on standard input until it
    closes; ``["speak", key, text]`` answers ``done SAMPLES PEAK RATE``, ``["encode", unit job]``
    answers ``encoded``."""
    engine = make_engine(VoiceSettings(**job["settings"]))
    cache = SpeechCache(Path(job["cache"]))
    # libespeak-ng carries state from one utterance to the next (the same sentence comes
    # out a few samples different after another one), which would make the audio depend
    # on which sentences a worker happened to get. Speaking each sentence in a fork of the
    # freshly initialised engine gives every sentence the same starting state: a few
    # milliseconds a sentence buys byte-identical books. The worker has no threads, so
    # forking it is safe; pyttsx3 has threads of its own and runs in place.
    isolate = engine.name == "espeak" and hasattr(os, "fork")
    while line := sys.stdin.buffer.readline():
        message = json.loads(line)
        if message[0] == "speak":
            _, key, text = message
            if isolate:
                _speak_in_fork(engine, cache, key, text)
            else:
                _report(_speak(engine, cache, key, text))
        elif message[0] == "encode":
            from .sections import encode_message

            encode_message(message[1], cache)
            _report("encoded")
        else:
            raise SystemExit(f"unknown task {message[0]!r}")
    return 0


def _says_nothing(engine, char: str) -> bool:
    """Whether espeak has no phonemes for ``char`` on its own. Asked in a fork of the fresh
    engine: a letter of a script espeak does not know changes how it reads what follows
    (after Cherokee, "x" is said differently), so one answer must not colour the next."""
    if not hasattr(os, "fork"):
        return not engine.phonemes(char).strip()
    pid = os.fork()
    if pid == 0:
        os._exit(0 if not engine.phonemes(char).strip() else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _speak(engine, cache: SpeechCache, key: str, text: str) -> str:
    """Speaks ``text`` into the cache; returns the "done" line with what the parent needs to
    lay the sentence out and set the book's gain, so it need not read the audio back."""
    speech = engine.synthesise(text)
    speech.pcm = trim_silence(speech.pcm, speech.sample_rate)
    cache.put(key, speech)
    return f"done {len(speech.pcm) // 2} {peak(speech.pcm)} {speech.sample_rate}"


def _speak_in_fork(engine, cache: SpeechCache, key: str, text: str) -> None:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            _report(_speak(engine, cache, key, text))
            code = 0
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"synthesis failed for: {text[:60]!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
