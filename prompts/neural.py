#!/usr/bin/env python3
"""Render "name|text" lines (stdin) with the neural English voice into
OUTDIR/<name>.wav (24 kHz 16-bit mono), in one process: hibari-tts loads
once (~0.5 s) and then takes ~12 ms a prompt, where one `hibari` command per
prompt would pay the load every time. Called by generate.sh; the voice is
the one inside the wheel (`heart`), the seed fixed so output repeats."""
import sys

from hibari import Hibari


def main(outdir: str) -> None:
    tts = Hibari()
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        name, text = line.split("|", 1)
        tts.save(text, f"{outdir}/{name}.wav", 1.0, 0)


if __name__ == "__main__":
    main(sys.argv[1])
