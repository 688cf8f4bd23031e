"""Helpers the bench scripts share: node processes on 127.0.0.1 ports, node
status over HTTP, key ids, the ring-correctness check and a bounded wait.
Everything talks to 127.0.0.1 only."""

import hashlib
import json
import os
import signal
import subprocess
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")


def get_json(url, timeout=10):
    """GETs `url` and decodes its JSON body."""
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


def key_id(key):
    """A key's ring id, as the node computes it (SHA-1, 40 lowercase hex digits)."""
    return hashlib.sha1(key.encode()).hexdigest()


def ring_correct(ports):
    """True when every node on `ports` has the true successor and predecessor."""
    st = [get_json(f"http://127.0.0.1:{p}/status") for p in ports]
    ids = sorted(s["id"] for s in st)
    for s in st:
        i = ids.index(s["id"])
        succ = s["successors"][0]["id"] if s["successors"] else None
        pred = s["predecessor"]["id"] if s["predecessor"] else None
        if succ != ids[(i + 1) % len(ids)] or pred != ids[i - 1]:
            return False
    return True


def wait_until(cond, timeout, what):
    """Polls `cond` every 0.1 s until it holds; returns the seconds it took.
    Gives up (exits) after `timeout` s. A refused connection counts as 'not yet'."""
    start = time.time()
    while time.time() - start < timeout:
        try:
            if cond():
                return time.time() - start
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"timed out after {timeout} s waiting for {what}")


class Ring:
    """N node processes of one binary on consecutive ports; kills them on close."""

    def __init__(self, binary, n, port0, logdir, args=()):
        self.binary, self.port0, self.logdir = binary, port0, logdir
        self.args = list(args)  # extra flags for every node
        self.procs = {}  # port -> Popen
        self.ports = [port0 + i for i in range(n)]
        try:
            for port in self.ports:
                self.start(port)
        except BaseException:
            self.close()  # the ones already started
            raise

    def start(self, port):
        """Starts (or restarts) the node on `port`; all join through the first."""
        args = [self.binary, "--listen", f"127.0.0.1:{port}", *self.args]
        if port != self.port0:
            args += ["--join", f"127.0.0.1:{self.port0}"]
        log = open(os.path.join(self.logdir, f"{port}.log"), "ab")
        self.procs[port] = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=log
        )
        log.close()

    def pid(self, port):
        """The process id of the node on `port`."""
        return self.procs[port].pid

    def close(self):
        """Kills every node still running (SIGCONT first: a stopped one) and reaps it."""
        for p in self.procs.values():
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGCONT)
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in self.procs.values():
            p.wait()
        self.procs.clear()
