"""Runs ElastAlert2 in its own environment: this file is run by that environment's Python and
imports nothing of dataShark's.

Without ``--once``: ElastAlert2's own ``main``, in the foreground, until stopped. With ``--once``:
every rule once, over ``--start``/``--end`` (default: from each rule's last run, or its buffer
time, to now), then back with 0, or 1 when a rule failed. ElastAlert2 has no such mode (its
``--end`` makes the loop exit before the first scheduled query). A rule ElastAlert2 refuses is
one line naming the rule's file in the use case's folder (``--sources``: copy -> original).
"""

import argparse
import json
import re
import sys

LOAD_ERROR = re.compile(
    r"Error loading file (?P<file>\S+?): (?:Invalid Rule file: \S+\s*)?(?P<problem>.*)", re.S
)


def main(argv):
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--once", action="store_true")
    parser.add_argument("--sources")
    ours, theirs = parser.parse_known_args(argv)
    sources = {}
    if ours.sources:
        with open(ours.sources, encoding="utf-8") as file:
            sources = json.load(file)

    from elastalert.elastalert import ElastAlerter
    from elastalert.elastalert import main as elastalert_main
    from elastalert.util import EAException, ts_to_dt

    class OnceAlerter(ElastAlerter):
        """ElastAlerter that remembers the errors of its rules' runs."""

        def __init__(self, args):
            self.failures = []
            super().__init__(args)

        def handle_error(self, message, data=None):
            self.failures.append(message)
            super().handle_error(message, data)

        def handle_uncaught_exception(self, exception, rule):
            self.failures.append(f"{rule.get('name')}: {exception}")
            super().handle_uncaught_exception(exception, rule)

        def run_once(self):
            if self.args.start:
                start = ts_to_dt(self.args.start)
                for rule in self.rules:
                    rule["initial_starttime"] = start
            self.run_all_rules()
            return 1 if self.failures else 0

    try:
        if not ours.once:
            elastalert_main(theirs)
            return 0
        return OnceAlerter(theirs).run_once()
    except EAException as err:
        print(f"[X] {one_line(str(err), sources)}", file=sys.stderr, flush=True)
        return 2


def one_line(message, sources):
    """ElastAlert2's error about a rule, naming the rule's own file, in one line."""
    for copy, original in sources.items():
        message = message.replace(copy, original)
    refused = LOAD_ERROR.match(message)
    if refused:
        problem = message[refused.start("problem") :].split("\n\n")[0]
        message = f"{refused['file']}: ElastAlert2 refuses the rule: {problem}"
    return " ".join(message.split())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
