#!/usr/bin/env python3
"""Share of a script's words an off-the-shelf recogniser recovers from audio.

    recovered.py REFERENCE.txt AUDIO.wav   ->  one JSON line on stdout:
    {"recovered": 0.66, "matched": 33, "words": 50, "heard": "..."}

AUDIO is 8 kHz mono 16-bit PCM, what a G.711 call carries (the test encodes
and decodes it with orderline's own codec first). pocketsphinx's default
model is the 16 kHz US English one, so the audio is lifted to 16 kHz (FFT
zero padding: nothing added above the phone band, as a wideband recogniser
hears a narrowband call). A word counts as recovered when it sits in a
longest common subsequence of the reference's and the recogniser's words:
order matters, each word is used once (docs/decisions.md, "Voices")."""
import json
import re
import sys
import wave

import numpy as np
from pocketsphinx import Decoder


ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def spoken(n: int) -> str:
    """0-99 as said: the script's numbers are prompts below one hundred
    with the scale words around them ("2 thousand 4 hundred 50")."""
    if n < 20:
        return ONES[n]
    return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])


def words(text: str) -> list[str]:
    text = re.sub(r"\d+", lambda m: f" {spoken(int(m.group()))} " if int(m.group()) < 100 else m.group(), text)
    return re.findall(r"[a-z']+", text.lower().replace("-", " "))


def lcs(a: list[str], b: list[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def read_8k(path: str) -> np.ndarray:
    with wave.open(path, "rb") as w:
        if w.getframerate() != 8000 or w.getnchannels() != 1 or w.getsampwidth() != 2:
            sys.exit(f"{path}: expected 8 kHz mono 16-bit PCM")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)


def to_16k(x: np.ndarray) -> bytes:
    spec = np.fft.rfft(x)
    padded = np.zeros(len(x) + 1, dtype=complex)
    padded[: len(spec)] = spec
    y = np.fft.irfft(padded, n=2 * len(x)) * 2.0
    return np.clip(np.round(y), -32768, 32767).astype("<i2").tobytes()


def main(ref_path: str, wav_path: str) -> None:
    with open(ref_path, encoding="utf-8") as f:
        ref = words(f.read())
    audio = to_16k(read_8k(wav_path))
    decoder = Decoder(samprate=16000, loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw(audio, full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    heard = hyp.hypstr if hyp is not None else ""
    matched = lcs(ref, words(heard))
    print(json.dumps({
        "recovered": matched / len(ref) if ref else 0.0,
        "matched": matched,
        "words": len(ref),
        "heard": heard,
    }))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
