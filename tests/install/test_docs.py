# SPDX-License-Identifier: Apache-2.0
"""The man page, docs/sowatch.8, and the bash completion,
deploy/bash-completion/sowatch, against the binary they describe.

* The man page renders without a warning (groff, man-db) and mandb can read
  its NAME (lexgrog).
* No drift: its SYNOPSIS gives each command and findings verb exactly the
  options of its usage line in --help, each command's option list names
  exactly the options its --help lists, and the page mentions no option that
  no --help knows (but the few of other programs it quotes).
* The completion, run by bash with bash-completion's own library, offers the
  commands, the verbs, each command's and verb's options exactly as --help
  gives them, and the values --help names (sources, severities, states).

Everything expected is read from `sowatch ... --help` of the built binary
($SOWATCH_BIN, default build/sowatch): a new option fails these tests until
the man page and the completion know it. Run with

    /usr/bin/python3 tests/e2e/run.py --dir tests/install -p test_docs.py

Needs groff-base, man-db and bash-completion (scripts/install-deps.sh
--test); no root. Skipped only when the binary is missing.
"""

import functools
import os
import re
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "e2e"))

import harness  # noqa: E402

MAN_PAGE = os.path.join(harness.REPO_ROOT, "docs", "sowatch.8")
COMPLETION = os.path.join(harness.REPO_ROOT, "deploy", "bash-completion",
                          "sowatch")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"

# Options of other programs that the man page quotes, and where.
FOREIGN_OPTIONS = {
    "--pod-init-config": "runsc's, in gvisor-config's text and the examples",
    "--value": "systemctl show's, in the examples",
}

LONG_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


# --------------------------------------------------------------------------
# What --help says


def binary_problem():
    path = harness.sowatch_bin()
    if not os.access(path, os.X_OK):
        return "%s is missing (run make)" % path
    return None


def help_text(*command):
    proc = subprocess.run([harness.sowatch_bin(), *command, "--help"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=30)
    if proc.returncode != 0 or proc.stderr:
        raise AssertionError("sowatch %s --help: exit %d, stderr %r"
                             % (" ".join(command), proc.returncode,
                                proc.stderr))
    return proc.stdout


def option_list(text):
    """The long options of the help's option lists: the lines that start,
    after two spaces, with `--name` or `-x, --name`."""
    return set(re.findall(r"^  (?:-[A-Za-z], )?(--[a-z][a-z0-9-]*)", text,
                          re.M))


def usage_entries(text):
    """{"run": {...}, "findings list": {...}, "": {"--help", ...}}: each
    entry of the Usage block, named by the command words after `sowatch`,
    with the long options it shows."""
    block = text.split("\n\n", 1)[0]
    assert block.startswith("Usage: "), block
    entries = []
    for line in block[len("Usage: "):].splitlines():
        if line.strip().startswith("sowatch"):
            entries.append(line.strip())
        else:
            entries[-1] += " " + line.strip()
    result = {}
    for entry in entries:
        words = []
        for word in entry.split()[1:]:
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            words.append(word)
        result[" ".join(words)] = set(LONG_OPTION.findall(entry))
    return result


def commands_of(text):
    """The names the help's "Commands:" list gives."""
    block = text.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^  ([a-z][a-z-]*)  ", block, re.M)


@functools.lru_cache(maxsize=None)
def spec():
    """What the binary says: its commands, the findings verbs, the options
    each command and verb takes (its usage line's, and --help), the
    top-level options, every option any option list names, and the values
    of --source, --severity and --state."""
    top = help_text()
    findings = help_text("findings")
    helps = {"": top, "findings": findings}
    commands = commands_of(top)
    verbs = commands_of(findings)
    options = {}
    for command in commands:
        if command == "findings":
            for verb in verbs:
                text = help_text("findings", verb)
                helps["findings " + verb] = text
                options["findings " + verb] = \
                    usage_entries(text)["findings " + verb] | {"--help"}
        else:
            text = help_text(command)
            helps[command] = text
            options[command] = usage_entries(text)[command] | {"--help"}
    top_level = usage_entries(top)[""]
    listed = set()
    for text in helps.values():
        listed |= option_list(text)
    sources = re.search(r"--source ([a-z,|]+)", helps["run"]).group(1)
    severities = re.search(r"^  --severity \S+\s+list: ([^.]*)\.", findings,
                           re.M).group(1)
    states = re.search(r"^  --state \S+\s+list: ([^.]*)\.", findings,
                       re.M).group(1)
    set_state = re.search(r"findings set-state ID (\S+)", findings).group(1)
    return {
        "commands": commands,
        "verbs": verbs,
        "helps": helps,
        "options": options,
        "top_level": top_level,
        "listed": listed,
        "sources": sources.split("|"),
        "severities": re.findall(r"\b[A-Z]{2,}\b", severities),
        "states": re.findall(r"\b[A-Z]{2,}\b", states),
        "set_state": set_state.split("|"),
    }


class NeedsBinary(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = binary_problem()
        if reason:
            raise unittest.SkipTest(reason)
        cls.spec = spec()


class HelpSelfConsistency(NeedsBinary):
    """What the tests below take from --help must hang together, or they
    would compare against nothing."""

    def test_every_command_has_options_and_help(self):
        self.assertIn("run", self.spec["commands"])
        self.assertIn("findings", self.spec["commands"])
        self.assertEqual({"--help", "--version"}, self.spec["top_level"])
        for name, options in self.spec["options"].items():
            with self.subTest(command=name):
                self.assertIn("--help", options)

    def test_option_lists_hold_what_usage_lines_show(self):
        helps = self.spec["helps"]
        for name, options in self.spec["options"].items():
            with self.subTest(command=name):
                listed = option_list(helps[name])
                self.assertLessEqual(options, listed,
                                     "in the usage line but not described")
                self.assertLessEqual(
                    listed - self.spec["top_level"],
                    options | self._siblings(name),
                    "described but in no usage line")

    def _siblings(self, name):
        """The findings verbs share one help text: an option of one verb is
        listed in every verb's."""
        if not name.startswith("findings "):
            return set()
        return set().union(*(o for n, o in self.spec["options"].items()
                             if n.startswith("findings ")))


# --------------------------------------------------------------------------
# The man page


def roff_text(source):
    """roff source to the words it shows: escapes for '-' and quotes
    resolved, font changes and zero-width escapes removed."""
    text = source.replace("\\-", "-").replace("\\e", "\\")
    text = re.sub(r"\\f[BIRP]", "", text)
    text = re.sub(r"\\[&%|^]", "", text)
    return text.replace('"', "")


def man_sections(source):
    """{".SH title": body} and, for COMMANDS, {".SS title": body}."""
    parts = {}
    for chunk in re.split(r"^(?=\.S[HS] )", source, flags=re.M)[1:]:
        head, _, body = chunk.partition("\n")
        parts[roff_text(head)] = body
    return parts


def tagged_options(body):
    """The long options of the tags of a section's .TP paragraphs."""
    tags = re.findall(r"^\.TP\n(.*)$", body, re.M)
    return set(LONG_OPTION.findall(roff_text("\n".join(tags))))


def tagged_words(body):
    tags = re.findall(r"^\.TP\n(.*)$", body, re.M)
    return [roff_text(t).split()[1] for t in tags if len(t.split()) > 1]


def render(width=80):
    env = dict(os.environ, MANWIDTH=str(width), LC_ALL="C.UTF-8")
    for name in ("MAN_KEEP_FORMATTING", "MANPAGER", "PAGER", "MANOPT",
                 "GROFF_SGR"):
        env.pop(name, None)
    proc = subprocess.run(["man", "--warnings", "-l", MAN_PAGE],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env, text=True, timeout=60)
    return proc


class ManPageRenders(unittest.TestCase):
    def test_groff_prints_no_warning(self):
        proc = subprocess.run(
            ["groff", "-man", "-Tutf8", "-ww", "-z", MAN_PAGE],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            timeout=60)
        self.assertEqual("", proc.stderr)
        self.assertEqual(0, proc.returncode)

    def test_man_prints_no_warning(self):
        for width in (60, 80, 132):
            with self.subTest(MANWIDTH=width):
                proc = render(width)
                self.assertEqual("", proc.stderr)
                self.assertEqual(0, proc.returncode)
                self.assertIn("SYNOPSIS", proc.stdout)

    def test_lexgrog_reads_the_name(self):
        proc = subprocess.run(["lexgrog", MAN_PAGE], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        self.assertRegex(proc.stdout, r'^%s: "sowatch - \S.*"$'
                         % re.escape(MAN_PAGE))

    def test_section_8_with_the_usual_sections(self):
        with open(MAN_PAGE, encoding="utf-8") as f:
            source = f.read()
        self.assertRegex(source, r'(?m)^\.TH SOWATCH 8 ')
        titles = [t for t in man_sections(source) if t.startswith(".SH ")]
        self.assertEqual(
            [".SH " + t for t in (
                "NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS",
                "CONFIGURATION", "SIGNALS", "FILES", "ENVIRONMENT",
                "EXIT STATUS", "EXAMPLES", "SEE ALSO")],
            titles)


class ManPageMatchesHelp(NeedsBinary):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(MAN_PAGE, encoding="utf-8") as f:
            cls.source = f.read()
        cls.sections = man_sections(cls.source)

    def test_version(self):
        version = subprocess.run([harness.sowatch_bin(), "--version"],
                                 stdout=subprocess.PIPE, text=True,
                                 timeout=30).stdout.strip()
        th = re.search(r'(?m)^\.TH SOWATCH 8 \S+ "([^"]*)"', self.source)
        self.assertIsNotNone(th)
        self.assertEqual(version, th.group(1),
                         "the .TH line names another version")

    def test_synopsis_shows_each_usage_line(self):
        synopsis = self.sections[".SH SYNOPSIS"]
        shown = {}
        for block in re.findall(r"^\.SY (.*)\n((?:.*\n)*?)\.YS", synopsis,
                                re.M):
            name = roff_text(block[0]).strip()
            self.assertTrue(name.startswith("sowatch"), name)
            name = name[len("sowatch"):].strip()
            shown[name] = set(LONG_OPTION.findall(roff_text(block[1])))
        expected = {name: options - {"--help"}
                    for name, options in self.spec["options"].items()}
        expected[""] = self.spec["top_level"]
        self.assertEqual(expected, shown)

    def test_each_command_has_its_subsection_and_options(self):
        subsections = {t[len(".SS sowatch "):]: body
                       for t, body in self.sections.items()
                       if t.startswith(".SS sowatch ")}
        self.assertEqual(self.spec["commands"], list(subsections))
        for command in self.spec["commands"]:
            with self.subTest(command=command):
                if command == "findings":
                    expected = set().union(
                        *(o for n, o in self.spec["options"].items()
                          if n.startswith("findings ")))
                else:
                    expected = self.spec["options"][command]
                self.assertEqual(expected,
                                 tagged_options(subsections[command]))

    def test_each_findings_verb_is_described(self):
        body = self.sections[".SS sowatch findings"]
        tags = [roff_text(t).split()
                for t in re.findall(r"^\.TP\n(.*)$", body, re.M)]
        verbs = [t[1] for t in tags if not t[1].startswith("-")]
        self.assertEqual(self.spec["verbs"], verbs)

    def test_top_level_options(self):
        self.assertEqual(self.spec["top_level"],
                         tagged_options(self.sections[".SH OPTIONS"]))

    def test_rendered_page_names_every_option_and_no_other(self):
        proc = render(80)
        self.assertEqual("", proc.stderr)
        text = proc.stdout
        # As ASCII: an option copied from the page must work when pasted.
        for option in sorted(self.spec["listed"]):
            with self.subTest(option=option):
                self.assertRegex(text, r"(?<![\w-])%s(?![\w-])"
                                 % re.escape(option))
        known = self.spec["listed"] | set(FOREIGN_OPTIONS)
        self.assertEqual(set(), set(LONG_OPTION.findall(text)) - known,
                         "options no --help knows")
        self.assertNotIn("\u2010", text, "a hyphen that is not '-'")
        self.assertNotIn("\u2212", text, "a minus that is not '-'")


# --------------------------------------------------------------------------
# The completion


def complete(words, cwd=None):
    """COMPREPLY of _sowatch for COMP_WORDS = words (the last one being
    the word under the cursor), in a bash that sourced bash-completion and
    our file, as an interactive shell would. The line has no spaces around
    a word "=": bash breaks `--db=x` into three words."""
    line = ""
    for i, word in enumerate(words):
        if i and word != "=" and words[i - 1] != "=":
            line += " "
        line += word
    script = r'''
source "$1" || exit 3
source "$2" || exit 3
COMP_LINE=$3
COMP_POINT=${#COMP_LINE}
shift 3
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMPREPLY=()
_sowatch "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" \
    "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
'''
    proc = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script, "bash",
         BASH_COMPLETION, COMPLETION, line, *words],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=cwd, timeout=60,
        env={"PATH": harness.SYSTEM_PATH, "HOME": cwd or "/nonexistent",
             "LC_ALL": "C.UTF-8"})
    if proc.returncode != 0 or proc.stderr:
        raise AssertionError("completing %r: exit %d, stderr %r"
                             % (words, proc.returncode, proc.stderr))
    return [w for w in proc.stdout.split("\n") if w]


class CompletionMatchesHelp(NeedsBinary):
    def assertOffers(self, expected, words, cwd=None):
        got = complete(words, cwd)
        self.assertEqual(len(got), len(set(got)), "offered twice: %r" % got)
        self.assertEqual(sorted(expected), sorted(got), words)

    def test_registered_for_sowatch(self):
        proc = subprocess.run(
            ["bash", "--norc", "--noprofile", "-c",
             'source "$1" && source "$2" && complete -p sowatch', "bash",
             BASH_COMPLETION, COMPLETION],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            timeout=60)
        self.assertEqual("", proc.stderr)
        self.assertEqual("complete -F _sowatch sowatch", proc.stdout.strip())

    def test_commands(self):
        self.assertOffers(self.spec["commands"], ["sowatch", ""])
        self.assertOffers(["nats-init"], ["sowatch", "na"])

    def test_top_level_options(self):
        self.assertOffers(self.spec["top_level"], ["sowatch", "-"])

    def test_findings_verbs(self):
        self.assertOffers(self.spec["verbs"] + ["--help"],
                          ["sowatch", "findings", ""])

    def test_each_command_and_verb_offers_its_options(self):
        for name, options in self.spec["options"].items():
            with self.subTest(command=name):
                self.assertOffers(options, ["sowatch", *name.split(), "--"])

    def test_every_listed_option_is_offered_somewhere(self):
        """The drift test: an option any --help lists is completed for the
        command whose help lists it (the top-level ones at the top)."""
        offered = set(complete(["sowatch", "-"]))
        for name in self.spec["options"]:
            offered_here = set(complete(["sowatch", *name.split(), "--"]))
            offered |= offered_here
            with self.subTest(command=name):
                own = option_list(self.spec["helps"][name]) - \
                    self.spec["top_level"]
                if name.startswith("findings "):
                    own &= self.spec["options"][name]
                self.assertLessEqual(own, offered_here)
        self.assertLessEqual(self.spec["listed"], offered)

    def test_options_after_operands(self):
        self.assertOffers(self.spec["options"]["collect"],
                          ["sowatch", "collect", ""])
        self.assertOffers(self.spec["options"]["findings show"],
                          ["sowatch", "findings", "show", "0123abcd", ""])

    def test_sources(self):
        self.assertEqual(["ebpf", "gvisor", "ebpf,gvisor"],
                         self.spec["sources"])
        self.assertOffers(self.spec["sources"],
                          ["sowatch", "run", "--source", ""])
        # --source=eb: bash breaks the word at '='.
        self.assertOffers([s for s in self.spec["sources"]
                           if s.startswith("eb")],
                          ["sowatch", "run", "--source", "=", "eb"])

    def test_severities_and_states(self):
        self.assertEqual(["CRITICAL", "HIGH", "MEDIUM", "LOW"],
                         self.spec["severities"])
        self.assertEqual(["ACTIVE", "INACTIVE"], self.spec["states"])
        self.assertEqual(self.spec["states"], self.spec["set_state"])
        self.assertOffers(self.spec["severities"],
                          ["sowatch", "findings", "list", "--severity", ""])
        self.assertOffers(["critical"],
                          ["sowatch", "findings", "list", "--severity", "c"])
        self.assertOffers(self.spec["states"],
                          ["sowatch", "findings", "list", "--state", ""])
        self.assertOffers(self.spec["set_state"],
                          ["sowatch", "findings", "set-state", "0123abcd",
                           ""])
        self.assertOffers(["INACTIVE"],
                          ["sowatch", "findings", "set-state", "--db",
                           "/x.db", "0123abcd", "I"])
        self.assertOffers(["inactive"],
                          ["sowatch", "findings", "set-state", "0123abcd",
                           "in"])

    def test_paths(self):
        with tempfile.TemporaryDirectory() as tmp:
            for name in ("sowatch.yaml", "findings.db"):
                open(os.path.join(tmp, name), "w").close()
            os.mkdir(os.path.join(tmp, "sub"))
            files = ["findings.db", "sowatch.yaml", "sub"]
            for words in (["run", "--config"], ["run", "--db"],
                          ["run", "--gvisor-socket"],
                          ["gvisor-config", "--socket"],
                          ["findings", "list", "--db"],
                          ["findings", "mute", "--config"],
                          ["nats-init", "--config"], ["collect", "--db"],
                          ["collect", "--config"]):
                with self.subTest(words=words):
                    self.assertOffers(files, ["sowatch", *words, ""], tmp)
            self.assertOffers(files + ["-"],
                              ["sowatch", "run", "--jsonl", ""], tmp)
            self.assertOffers(["sowatch.yaml"],
                              ["sowatch", "run", "--config", "=", "so"], tmp)

    def test_free_values_offer_nothing(self):
        for words in (["findings", "list", "--since"],
                      ["findings", "related", "x", "--window"],
                      ["nats-init", "--max-age"], ["collect", "--nats"],
                      ["collect", "--durable"]):
            with self.subTest(words=words):
                self.assertOffers([], ["sowatch", *words, ""])

    def test_finding_ids_from_findings_list(self):
        """The ids are read from `sowatch findings list --all` with the
        store the line names, the id column only: a stand-in binary prints
        a table whose other lines are the watched processes' words."""
        with tempfile.TemporaryDirectory() as tmp:
            stub = os.path.join(tmp, "sowatch")
            argv_file = os.path.join(tmp, "argv")
            with open(stub, "w") as f:
                f.write("#!/bin/sh\n"
                        "printf '%%s\\n' \"$@\" > %s\n"
                        "cat <<'EOF'\n"
                        "ID            TIME                  HOST  SEVERITY\n"
                        "d5ed09cb7fb3  2026-11-27T16:07:22Z  vm    CRITICAL\n"
                        "5a22022ec397  2026-11-27T16:07:21Z  vm    LOW\n"
                        "$(touch x)    2026-11-27T16:07:21Z  vm    LOW\n"
                        "2 findings matched\n"
                        "EOF\n" % argv_file)
            os.chmod(stub, stat.S_IRWXU)
            self.assertOffers(["d5ed09cb7fb3", "5a22022ec397"],
                              [stub, "findings", "show", "--db", "/s.db",
                               ""], tmp)
            with open(argv_file) as f:
                self.assertEqual(["findings", "list", "--all", "--db",
                                  "/s.db"], f.read().split())
            self.assertOffers(["5a22022ec397"],
                              [stub, "findings", "mute", "--config", "=",
                               "/c.yaml", "5a"], tmp)
            with open(argv_file) as f:
                self.assertEqual(["findings", "list", "--all",
                                  "--config=/c.yaml"], f.read().split())
            self.assertEqual(["argv", "sowatch"], sorted(os.listdir(tmp)))

    def test_finding_ids_without_a_store(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.assertOffers([], [harness.sowatch_bin(), "findings",
                                   "related", "--db",
                                   os.path.join(tmp, "none.db"), ""], tmp)
            self.assertEqual([], os.listdir(tmp))


if __name__ == "__main__":
    unittest.main()
