"""JSON Lines output in the one fixed layout all the synthetic files use."""

import json


def write_jsonl(f, obj):
    f.write(json.dumps(obj, ensure_ascii=False, separators=(", ", ": ")))
    f.write("\n")
