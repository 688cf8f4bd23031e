//! Argument errors and bad input: clear messages and the documented exit
//! codes, all decided before any runtime is contacted.

mod common;

use common::Ctl;

fn ctl() -> Ctl {
    // A state dir of its own, so no real cluster is ever found.
    let dir = std::env::temp_dir().join(format!("chordctl-cli-{}", std::process::id()));
    Ctl::new(&[], &[("XDG_STATE_HOME", dir.to_str().unwrap())])
}

#[test]
fn help_documents_every_exit_code() {
    let help = ctl().run(&["--help"]).ok("--help");
    for code in [
        "0  success",
        "1  failure",
        "2  usage",
        "3  not found",
        "4  unhealthy",
    ] {
        assert!(
            help.stdout.contains(code),
            "--help lacks {code:?}:\n{}",
            help.stdout
        );
    }
}

#[test]
fn invalid_json_is_rejected_with_code_2() {
    let run = ctl()
        .run(&["put", "user:1", "{name: Ada}"])
        .expect_code(2, "bad JSON");
    assert!(run.stderr.contains("not valid JSON"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    // A bare word is not JSON either (a string needs quotes).
    ctl().run(&["put", "k", "Ada"]).expect_code(2, "bare word");
}

#[test]
fn argument_errors_are_code_2() {
    let cases: &[&[&str]] = &[
        &["frobnicate"],
        &["up", "0"],
        &["up", "three"],
        &["up", "3", "--replicas", "0"],
        &["kill"],
        &["kill", "--random", "2", "chord-default-1"],
        &["kill", "--random", "0"],
        &["get"],
        &["get", ".."],
        &["--cluster", "bad/name", "status"],
        &["--runtime", "vm", "status"],
        &["-o", "yaml", "status"],
        &["-o", "svg", "status"],
        &["-o", "svg", "put", "k", "1"],
        &["ring", "--node", "1"],
        &["--runtime", "process", "up", "3", "--image", "x"],
    ];
    for args in cases {
        let run = ctl().run(args);
        assert_eq!(
            run.code, 2,
            "{args:?}: exit {} stderr {}",
            run.code, run.stderr
        );
        assert!(!run.stderr.trim().is_empty(), "{args:?}: no message");
    }
    let long = "k".repeat(1025);
    let run = ctl().run(&["get", &long]).expect_code(2, "long key");
    assert!(run.stderr.contains("1024"), "{}", run.stderr);
}

#[test]
fn missing_cluster_is_code_1_and_down_is_idempotent() {
    let c = ctl();
    let run = c
        .run(&["--runtime", "process", "--cluster", "nope", "status"])
        .expect_code(1, "status");
    assert!(
        run.stderr.contains("no process cluster named \"nope\""),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr.lines().count(),
        1,
        "error printed once: {}",
        run.stderr
    );
    let down = c
        .run(&["--runtime", "process", "--cluster", "nope", "down"])
        .ok("down");
    assert!(down.stdout.contains("nothing to remove"));
}

#[test]
fn completion_scripts_are_generated() {
    for shell in ["bash", "zsh", "fish"] {
        let run = ctl().run(&["completion", shell]).ok(shell);
        assert!(run.stdout.contains("chordctl"), "{shell}");
    }
}

#[test]
fn unreachable_engine_is_one_line_pointing_to_process_runtime() {
    let dir = std::env::temp_dir().join(format!("chordctl-nosock-{}", std::process::id()));
    let sock = format!("unix://{}/docker.sock", dir.display());
    let run = Ctl::new(&[], &[("DOCKER_HOST", &sock)])
        .run(&["up", "3"])
        .expect_code(1, "up");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot reach the Docker engine"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--runtime process"), "{}", run.stderr);
}

#[test]
fn bad_durations_are_code_2_and_say_what_would_do() {
    for (args, flag) in [
        (&["up", "3", "--timeout", "soon"][..], "--timeout"),
        (&["check", "--wait", "1x"], "--wait"),
        (&["bench", "--duration", "ten"], "--duration"),
        (&["chaos", "--interval", "5 parsecs"], "--interval"),
    ] {
        let run = ctl().run(args).expect_code(2, &format!("{args:?}"));
        assert!(run.stderr.contains(flag), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("1m30s") && run.stderr.contains("bare number"),
            "{args:?}: the message shows the accepted forms: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty());
    }
    // Out of range, in the flag's own bounds.
    let run = ctl()
        .run(&["bench", "--duration", "2h"])
        .expect_code(2, "bench --duration 2h");
    assert!(run.stderr.contains("use 1s to 1h"), "{}", run.stderr);
    // Seconds-only flags refuse fractions of a second.
    let run = ctl()
        .run(&["up", "3", "--timeout", "1500ms"])
        .expect_code(2, "up --timeout 1500ms");
    assert!(
        run.stderr.contains("whole number of seconds"),
        "{}",
        run.stderr
    );
}
