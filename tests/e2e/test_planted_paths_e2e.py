# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of where sowatch, as root, agrees to write: the store
(--db), the findings output (--jsonl) and the gVisor socket
(--gvisor-socket).

A real unprivileged user, made for the test, plants symbolic links and
pre-created files at those paths, in a directory it owns and in a sticky
world-writable one (as /tmp). sowatch must refuse to start with one line
saying why, and leave the link's target as it was. A directory anyone can
write without the sticky bit is refused too; a root-owned 0700 directory
works. Another application's SQLite file given as --db is refused by
`sowatch run` and `sowatch findings`, and left byte for byte as it was.
"""

import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

SKIP_REASON = None
USER = None  # the planting user (harness.TemporaryUser)
WS = None  # root-owned 0755 directory holding everything below

RUN_TIMEOUT = 60


def setUpModule():
    global SKIP_REASON, USER, WS
    SKIP_REASON = harness.require_environment()
    if SKIP_REASON:
        return
    USER = harness.TemporaryUser("swplant")
    WS = harness.Workspace(prefix="sowatch-e2e-planted-")


def tearDownModule():
    if USER is not None:
        USER.remove()
    if WS is not None:
        WS.cleanup()


def as_user(*argv):
    """Run argv as the planting user (no groups, no privileges)."""
    USER.run(*argv)


def make_dir(path, mode, owner_uid=0):
    os.mkdir(path)
    os.chmod(path, mode)  # not subject to the umask
    if owner_uid:
        os.chown(path, owner_uid, -1)
    return path


def sowatch(*args):
    """(returncode, stderr lines) of `sowatch ARGS`."""
    p = subprocess.run([harness.sowatch_bin()] + list(args), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
    return p.returncode, p.stderr.decode("utf-8", "replace").splitlines()


def file_state(path):
    st = os.stat(path)
    with open(path, "rb") as f:
        return f.read(), st.st_mtime_ns, st.st_uid, st.st_mode


class PlantedPathsTest(unittest.TestCase):

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.dir = make_dir(os.path.join(WS.dir, "t-%s" % secrets.token_hex(4)), 0o755)
        # Where root's own files go in every case but the one under test.
        self.good = make_dir(os.path.join(self.dir, "good"), 0o700)
        # What a planted link points at: a file root can write and the user cannot.
        self.victim = os.path.join(self.dir, "victim")
        with open(self.victim, "wb") as f:
            f.write(b"precious bytes\n")
        os.chmod(self.victim, 0o644)
        self.victim_before = file_state(self.victim)

    def tearDown(self):
        if not harness.keep_artifacts():
            shutil.rmtree(self.dir, ignore_errors=True)

    def run_refused(self, which, path):
        """sowatch run with `which` (db, jsonl or socket) at path and the others
        in the good directory: it must exit non-zero with one refusal line."""
        db, jsonl = os.path.join(self.good, "findings.db"), os.path.join(self.good, "f.jsonl")
        socket = os.path.join(self.good, "gvisor.sock")
        if which == "db":
            db = path
        elif which == "jsonl":
            jsonl = path
        else:
            socket = path
        rc, lines = sowatch("run", "--source", "gvisor", "--gvisor-socket", socket,
                            "--db", db, "--jsonl", jsonl)
        self.assertNotEqual(rc, 0, lines)
        refusals = [line for line in lines if "refusing" in line]
        self.assertEqual(len(refusals), 1, lines)
        self.assertEqual(file_state(self.victim), self.victim_before)
        return refusals[0]

    # -- a directory the user owns

    def test_user_directory_refused(self):
        user_dir = make_dir(os.path.join(self.dir, "mine"), 0o755, USER.uid)
        what = {"db": "the findings database", "jsonl": "the findings output",
                "socket": "the gVisor socket"}
        for which, name in (("db", "f.db"), ("jsonl", "f.jsonl"), ("socket", "g.sock")):
            for kind in ("link", "file"):
                path = os.path.join(user_dir, "%s-%s" % (kind, name))
                if kind == "link":
                    as_user("ln", "-s", self.victim, path)
                else:
                    as_user("sh", "-c", "umask 0; : > \"$1\"; chmod 0666 \"$1\"", "sh", path)
                with self.subTest(which=which, kind=kind):
                    line = self.run_refused(which, path)
                    self.assertEqual(
                        line, "sowatch: refusing %s %s: %s is owned by uid %d, not by root"
                        % (what[which], path, user_dir, USER.uid))

    # -- a sticky world-writable directory, as /tmp: the planted entry itself is refused

    def test_sticky_directory_entries_refused(self):
        sticky = make_dir(os.path.join(self.dir, "sticky"), 0o1777)
        what = {"db": "the findings database", "jsonl": "the findings output"}
        for which, name in (("db", "f.db"), ("jsonl", "f.jsonl")):
            link = os.path.join(sticky, "link-" + name)
            as_user("ln", "-s", self.victim, link)
            with self.subTest(which=which, kind="link"):
                self.assertEqual(self.run_refused(which, link),
                                 "sowatch: refusing %s %s: %s is a symbolic link"
                                 % (what[which], link, link))
            planted = os.path.join(sticky, "file-" + name)
            as_user("sh", "-c", "umask 0; : > \"$1\"; chmod 0666 \"$1\"", "sh", planted)
            with self.subTest(which=which, kind="file"):
                self.assertEqual(self.run_refused(which, planted),
                                 "sowatch: refusing %s %s: %s is owned by uid %d, not by "
                                 "root" % (what[which], planted, planted, USER.uid))
                self.assertEqual(os.path.getsize(planted), 0)
        # A root-owned file of mode 0666 made beforehand is refused as well.
        open_file = os.path.join(sticky, "root-0666.jsonl")
        with open(open_file, "wb"):
            pass
        os.chmod(open_file, 0o666)
        self.assertEqual(self.run_refused("jsonl", open_file),
                         "sowatch: refusing the findings output %s: %s is writable by others "
                         "(mode 0666)" % (open_file, open_file))
        # The socket's directory must be writable by nobody else at all.
        for kind in ("link", "file"):
            path = os.path.join(sticky, "%s-g.sock" % kind)
            if kind == "link":
                as_user("ln", "-s", self.victim, path)
            else:
                as_user("sh", "-c", "umask 0; : > \"$1\"", "sh", path)
            with self.subTest(which="socket", kind=kind):
                self.assertEqual(self.run_refused("socket", path),
                                 "sowatch: refusing the gVisor socket %s: %s is writable by "
                                 "others (mode 1777)" % (path, sticky))
                self.assertTrue(os.path.lexists(path))  # left where it was

    def test_writable_directory_without_sticky_bit_refused(self):
        open_dir = make_dir(os.path.join(self.dir, "open"), 0o777)
        for which, name in (("db", "f.db"), ("jsonl", "f.jsonl"), ("socket", "g.sock")):
            path = os.path.join(open_dir, "sub", name) if which == "db" else \
                os.path.join(open_dir, name)
            with self.subTest(which=which):
                line = self.run_refused(which, path)
                self.assertRegex(line, r"^sowatch: refusing the .* %s: %s is writable by others "
                                 r"\(mode 0777\) without the sticky bit$"
                                 % (re.escape(path), re.escape(open_dir)))
        self.assertEqual(os.listdir(open_dir), [])  # nothing made there

    # -- the right place

    def test_root_directory_works(self):
        store = os.path.join(self.good, "store", "findings.db")
        socket = os.path.join(self.good, "gvisor.sock")
        sensor = harness.Sensor(db=store, args=["--source", "ebpf,gvisor",
                                                "--gvisor-socket", socket]).start()
        try:
            st = os.stat(socket)
            self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, 0o600))
        finally:
            sensor.stop()
        st = os.stat(store)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, 0o600))
        # A clean stop leaves no WAL behind.
        self.assertEqual(sorted(os.listdir(os.path.dirname(store))), ["findings.db"])
        self.assertFalse(os.path.lexists(socket))

    def test_store_directory_made_unwritable_while_running(self):
        # After start, sowatch keeps no CAP_DAC_OVERRIDE: a 0555 directory keeps the
        # store's -wal and -shm at the stop. It says so, and the log holds nothing.
        store_dir = make_dir(os.path.join(self.good, "store"), 0o700)
        store = os.path.join(store_dir, "findings.db")
        sensor = harness.Sensor(db=store).start()
        try:
            os.chmod(store_dir, 0o555)
        finally:
            sensor.stop()
        os.chmod(store_dir, 0o700)
        self.assertIn("sowatch: warning: cannot remove %s-wal and findings.db-shm: sowatch "
                      "cannot write %s (mode 0555); they hold nothing that is not in the "
                      "database" % (store, store_dir), sensor.final_log.splitlines())
        self.assertEqual(os.path.getsize(store + "-wal"), 0)

    # -- another application's database

    def test_foreign_database_refused_untouched(self):
        app_db = os.path.join(self.good, "app.db")
        con = sqlite3.connect(app_db)
        con.execute("PRAGMA journal_mode = DELETE")
        con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        con.execute("INSERT INTO customers (name) VALUES ('Ada'), ('Grace')")
        con.commit()
        con.close()
        os.chmod(app_db, 0o600)
        before = file_state(app_db)
        expected = ("sowatch: refusing the findings database %s: it is another application's "
                    "database (its tables are not sowatch's, and it has no application_id "
                    "0x536f5761)" % app_db)
        rc, lines = sowatch("run", "--db", app_db, "--jsonl", os.path.join(self.good, "x.jsonl"))
        self.assertEqual(rc, 1, lines)
        self.assertIn(expected, lines)
        for args in (("list",), ("list", "--all", "--json"), ("set-state", "0123456789ab",
                                                               "INACTIVE")):
            rc, lines = sowatch("findings", *args, "--db", app_db)
            self.assertEqual(rc, 1, (args, lines))
            self.assertEqual(lines, [expected], args)
        self.assertEqual(file_state(app_db), before)
        self.assertEqual(sorted(os.listdir(self.good)), ["app.db"])


if __name__ == "__main__":
    unittest.main()
