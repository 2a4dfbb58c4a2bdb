using Scoord.Tests.Support;
using Xunit;

namespace Scoord.Tests.Cli;

/// <summary>`scoord log` and `scoord status` on a journal written directly with JournalStore (no tracer needed).</summary>
public sealed class LogOutputTests : IDisposable
{
    private readonly TempTree _tree = new();
    private readonly string _journal;
    private readonly ScoordCli _cli;

    public LogOutputTests()
    {
        _journal = _tree.Combine("journal");
        JournalFixtures.WriteSample(_journal);
        _cli = new ScoordCli(_journal);
    }

    public void Dispose() => _tree.Dispose();

    private IReadOnlyList<LogLine> Json(params string[] extra)
    {
        CliResult r = _cli.Run(["log", "--json", .. extra]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(string.Empty, r.Stderr);
        return r.LogLines;
    }

    [Fact]
    public void Json_has_every_key_on_every_line_in_order()
    {
        IReadOnlyList<LogLine> lines = Json();
        Assert.Equal(JournalFixtures.SampleCount, lines.Count);
        foreach (LogLine line in lines)
        {
            Assert.Equal(LogLine.RequiredKeys, line.Keys);
        }

        Assert.Equal(lines.Select(l => l.Seq).OrderBy(s => s), lines.Select(l => l.Seq));
    }

    [Fact]
    public void Json_values_follow_the_contract()
    {
        IReadOnlyList<LogLine> lines = Json();
        LogLine exec = lines.Single(l => l.Op == "exec");
        Assert.Equal("/bin/sh", exec.Path);
        Assert.Equal(["sh", "-c", "echo hi > f"], exec.Argv);
        Assert.Equal("completed", exec.Status);

        LogLine fork = lines.Single(l => l.Op == "fork");
        Assert.Equal(JournalFixtures.ChildPid, fork.Pid);
        Assert.Equal(JournalFixtures.ParentPid, fork.Ppid);

        LogLine open = lines.Single(l => l.Op == "openat");
        Assert.Equal("/work/t/f", open.Path);
        Assert.Null(open.Path2);
        Assert.Equal(3, open.Result);
        Assert.Null(open.Errno);
        Assert.Equal("completed", open.Status);
        Assert.Null(open.Checkpoint);
        Assert.Equal(0x241, open.Flags);
        Assert.Equal(0x1A4, open.Mode);
        Assert.Equal(-100, open.Fd);
        Assert.Null(open.Offset);
        Assert.Null(open.Argv);
        Assert.False(open.Refused);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", open.Time);

        LogLine rename = lines.Single(l => l.Op == "renameat2");
        Assert.Equal(("/work/t/f", "/work/t/g"), (rename.Path, rename.Path2));

        LogLine symlink = lines.Single(l => l.Op == "symlinkat");
        Assert.Equal(("/work/t/link", "g"), (symlink.Path, symlink.Path2));

        LogLine unlink = lines.Single(l => l.Op == "unlinkat");
        Assert.Equal(("failed", "ENOENT"), (unlink.Status, unlink.Errno));

        LogLine refused = lines.Single(l => l.Op == "io_uring_setup");
        Assert.True(refused.Refused);
        Assert.Equal(("failed", "ENOSYS"), (refused.Status, refused.Errno));

        LogLine pending = lines.Single(l => l.Op == "pwrite64");
        Assert.Equal("pending", pending.Status);
        Assert.Null(pending.Result);
        Assert.Null(pending.Errno);
        Assert.Equal((4096L, 10L), (pending.Offset!.Value, pending.Length!.Value));

        LogLine killed = lines.Single(l => l.Op == "exit" && l.Pid == JournalFixtures.ChildPid);
        Assert.Equal("SIGKILL", killed.Signal);
        Assert.Null(killed.ExitCode);
        LogLine exited = lines.Single(l => l.Op == "exit" && l.Pid == JournalFixtures.ParentPid);
        Assert.Equal(0, exited.ExitCode);
        Assert.Null(exited.Signal);
    }

    [Fact]
    public void Non_utf8_names_are_escaped_reversibly_as_udcXX()
    {
        CliResult r = _cli.Run("log", "--json", "--op", "mkdirat");
        Assert.Contains("\"/work/t/caf\\udce9.txt\"", r.Stdout, StringComparison.Ordinal);
        Assert.Equal("/work/t/caf\uDCE9.txt", Assert.Single(r.LogLines).Path);
    }

    [Fact]
    public void Filters_by_pid_op_failed_path_and_since_seq()
    {
        Assert.All(Json("--pid", JournalFixtures.ChildPid.ToString()), l => Assert.Equal(JournalFixtures.ChildPid, l.Pid));
        Assert.Equal(4, Json("--pid", JournalFixtures.ChildPid.ToString()).Count);
        Assert.Equal(["openat", "write"], Json("--op", "openat,write").Select(l => l.Op));
        Assert.Equal(["openat", "write"], Json("--op", "openat", "--op", "write").Select(l => l.Op));
        Assert.Equal(["unlinkat", "io_uring_setup"], Json("--failed").Select(l => l.Op));
        Assert.Equal(["openat", "write", "renameat2"], Json("--path", "/work/t/f").Select(l => l.Op));
        Assert.Equal(["renameat2"], Json("--path", "/work/*/g").Select(l => l.Op));
        Assert.Equal(["renameat2", "symlinkat"], Json("--path", "g").Select(l => l.Op));
        Assert.Equal(["symlinkat"], Json("--path", "**/link").Select(l => l.Op));
        IReadOnlyList<LogLine> all = Json();
        Assert.Equal(all.Skip(3).Select(l => l.Seq), Json("--since-seq", all[2].Seq.ToString()).Select(l => l.Seq));
    }

    [Fact]
    public void Table_shows_results_errnos_and_the_process_tree()
    {
        CliResult r = _cli.Run("log");
        Assert.True(r.ExitCode == 0, r.ToString());
        string[] lines = r.StdoutLines;
        Assert.Equal(JournalFixtures.SampleCount + 1, lines.Length);
        Assert.Matches(@"^\s+SEQ\s+TIME\s+PID\s+OP\s+RESULT\s+PATH$", lines[0]);
        Assert.Contains(lines, l => l.Contains("exec", StringComparison.Ordinal) && l.Contains("/bin/sh  sh -c 'echo hi > f'", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains($"fork {JournalFixtures.ParentPid} -> {JournalFixtures.ChildPid}", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("ENOENT", StringComparison.Ordinal) && l.EndsWith("/work/t/missing", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("renameat2", StringComparison.Ordinal) && l.EndsWith("/work/t/f -> /work/t/g", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("refused:ENOSYS", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("pending", StringComparison.Ordinal) && l.EndsWith("/work/t/pending", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.EndsWith("/work/t/caf\\xe9.txt", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.EndsWith($"exit {JournalFixtures.ChildPid} killed by SIGKILL", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.EndsWith($"exit {JournalFixtures.ParentPid} status 0", StringComparison.Ordinal));
        Assert.Matches(@"^\s+\d+ \d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)\s", lines[1]); // times carry their zone (docs/cli.md)
    }

    [Fact]
    public void Follow_without_a_coordinator_prints_everything_and_exits()
    {
        CliResult r = _cli.Run("log", "--json", "--follow");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(JournalFixtures.SampleCount, r.LogLines.Count);
        Assert.Equal("pending", r.LogLines.Single(l => l.Op == "pwrite64").Status);
    }

    [Fact]
    public void Status_reports_counts()
    {
        CliResult text = _cli.Run("status");
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains("journal      " + _journal, text.Stdout, StringComparison.Ordinal);
        Assert.Contains("not running", text.Stdout, StringComparison.Ordinal);

        CliResult json = _cli.Run("status", "--json");
        Assert.True(json.ExitCode == 0, json.ToString());
        using var doc = System.Text.Json.JsonDocument.Parse(json.Stdout);
        var root = doc.RootElement;
        Assert.Equal(_journal, root.GetProperty("journal").GetString());
        Assert.False(root.GetProperty("coordinator_running").GetBoolean());
        Assert.Equal(8, root.GetProperty("operations").GetInt64());
        Assert.Equal(5, root.GetProperty("completed").GetInt64());
        Assert.Equal(2, root.GetProperty("failed").GetInt64());
        Assert.Equal(1, root.GetProperty("pending").GetInt64());
        Assert.Equal(2, root.GetProperty("processes").GetInt64());
        Assert.True(root.GetProperty("size_bytes").GetInt64() > 0);
    }

    [Fact]
    public async Task Closed_stdout_is_not_an_error()
    {
        // `scoord log | head -n 1` on a journal much larger than a pipe buffer: scoord meets EPIPE.
        string big = _tree.Combine("big");
        JournalFixtures.WriteMany(big, 50_000);
        var psi = new System.Diagnostics.ProcessStartInfo("bash")
        {
            ArgumentList = { "-c", "\"$@\" log | head -n 1 >/dev/null; echo \"${PIPESTATUS[0]}\"", "bash" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        string bin = ScoordCli.BinaryPath;
        if (bin.EndsWith(".dll", StringComparison.Ordinal))
        {
            psi.ArgumentList.Add("dotnet");
        }

        psi.ArgumentList.Add(bin);
        psi.Environment["SCOORD_JOURNAL"] = big;
        using var p = System.Diagnostics.Process.Start(psi)!;
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        string stdout = await p.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(timeout.Token);
        Assert.Equal(string.Empty, await stderr);
        Assert.Equal("0", stdout.Trim());
    }
}
