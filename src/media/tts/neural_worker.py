# The neural English voice as a long-lived worker (src/media/tts/neural.rs):
# hibari-tts loads once (~0.5 s), then each request costs ~12 ms a sentence
# instead of a new process per name. One JSON request a line on stdin,
# {"text": ..., "out": ...}; one answer a line on stdout: "ok" or
# "error: ...". The voice is the one inside the wheel, the seed fixed.
import json
import sys

try:
    from hibari import Hibari

    tts = Hibari(voice="heart")
except Exception as e:  # not installed, or broken: say so and stop
    print(f"error: {type(e).__name__}: {e}", flush=True)
    sys.exit(1)
print("ready", flush=True)
for line in sys.stdin:
    try:
        req = json.loads(line)
        tts.save(req["text"], req["out"], 1.0, 0)
        print("ok", flush=True)
    except Exception as e:
        print(f"error: {type(e).__name__}: {e}".replace("\n", " "), flush=True)
