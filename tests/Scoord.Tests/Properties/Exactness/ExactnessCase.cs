using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Scoord.Tests.Reliability;
using Scoord.Tests.Support;

namespace Scoord.Tests.Properties.Exactness;

/// <summary>A checkpoint a case took, and where the listing taken right after it is (PREFIX.json, PREFIX.inos.json).</summary>
/// <param name="Phase">2r: from outside before run r; 2r+1: from inside run r; 2n: after the last run.</param>
internal sealed record CaseCheckpoint(int Id, string Where, int Phase, string ListingPrefix)
{
    public bool HasListing => File.Exists(ListingPrefix + ".json");

    public override string ToString() => $"checkpoint {Id} ({Where})";
}

/// <summary>
/// One case of the exactness properties, end to end with real processes: the setup tree (outside
/// scoord), the program's runs under `scoord run` with checkpoints between and inside them (the listing
/// taken right after each), then rollbacks checked against those listings. Every command and its
/// outcome goes into a log that the failure report prints with the program.
/// </summary>
internal sealed partial class ExactnessCase : IDisposable
{
    private static readonly Lazy<string> s_driverSource = new(LoadDriverSource);

    private readonly ExactProgram _program;
    private readonly TempTree _work = new("scoord-exact-");
    private readonly TempTree _journalTree = new("scoord-exact-journal-");
    private readonly Ext4LoopMount? _mount;
    private readonly StringBuilder _log = new();
    private readonly Dictionary<(int Run, int Step), string> _outcomes = [];
    private readonly List<CaseCheckpoint> _checkpoints = [];
    private readonly Dictionary<CliResult, TimeSpan> _elapsed = new(ReferenceEqualityComparer.Instance);
    private readonly string _driver;
    private int _listings;
    private bool _keep;

    public ExactnessCase(ExactProgram program, bool onExt4 = false)
    {
        _program = program;
        Snap = _work.CreateDirectory("snap");
        if (onExt4)
        {
            _mount = new Ext4LoopMount(_work.Path);
            Root = Path.Combine(_mount.MountPoint, "tree");
            Directory.CreateDirectory(Root);
        }
        else
        {
            Root = _work.CreateDirectory("tree");
        }

        Journal = _journalTree.Combine("j");
        _driver = Path.Combine(Snap, "driver.py");
        File.WriteAllText(_driver, s_driverSource.Value);
        Cli = new ScoordCli(Journal, Root) { Timeout = TimeSpan.FromSeconds(180) };
        Cli.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        Cli.Environment["DOTNET_EnableDiagnostics"] = "0";
        Cli.Environment["SCOORD_FAULT"] = null;
    }

    /// <summary>The tree the program works in (the journal covers only it).</summary>
    public string Root { get; }

    /// <summary>Listings, the driver and its inputs: outside the tree and excluded from the journal.</summary>
    public string Snap { get; }

    public string Journal { get; }

    public ScoordCli Cli { get; }

    public IReadOnlyList<CaseCheckpoint> Checkpoints => _checkpoints;

    /// <summary>Whether the last run's coordinator was really SIGKILLed (the run may have ended first).</summary>
    public bool Killed { get; private set; }

    /// <summary>New objects the driver made, and how many of them got an inode number seen before in the case.</summary>
    public (int Created, int Reused) InodeReuse()
    {
        string state = Path.Combine(Snap, "inos.json");
        if (!File.Exists(state))
        {
            return (0, 0);
        }

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(state));
        return (doc.RootElement.GetProperty("created").GetInt32(), doc.RootElement.GetProperty("reused").GetInt32());
    }

    /// <summary>The setup tree, made by python3 outside scoord.</summary>
    public string? Setup()
    {
        ProcResult r = Proc.Run(TreeSnapshot.Python, [_driver, "setup", Root]);
        return r.ExitCode == 0 ? null : "the setup (outside scoord) failed: " + r;
    }

    /// <summary>Every run, the checkpoints from outside around them; the last run killed if the program says so.</summary>
    public string? RunAll()
    {
        IReadOnlyList<ProgramRun> runs = _program.Runs;
        for (int r = 0; r < runs.Count; r++)
        {
            if (runs[r].CheckpointBefore && CheckpointFromOutside(2 * r, $"from outside, before run {r + 1}") is { } f1)
            {
                return f1;
            }

            var steps = new JsonArray();
            foreach (FsStep s in runs[r].Steps)
            {
                steps.Add(s.ToJson());
            }

            File.WriteAllText(Path.Combine(Snap, $"run-{r}.json"), steps.ToJsonString());
            string? f2 = r == runs.Count - 1 && _program.Kill is { } kill ? RunAndKill(r, kill) : Run(r);
            if (f2 is not null)
            {
                return f2;
            }
        }

        return _program.CheckpointAfter ? CheckpointFromOutside(2 * runs.Count, "from outside, after the last run") : null;
    }

    /// <summary>
    /// Both rollbacks (<see cref="Targets"/>) with <see cref="RollbackAndVerify"/>; the full checks after
    /// the one the program picks (<see cref="ExactProgram.FullChecksOnSecond"/>), or after both in the
    /// long mode (<see cref="ExactnessCheck.AllChecks"/>).
    /// </summary>
    public string? RollbackTwiceAndVerify(bool firstBeforeLastRun)
    {
        (CaseCheckpoint first, CaseCheckpoint second) = Targets(firstBeforeLastRun);
        bool all = ExactnessCheck.AllChecks;
        return RollbackAndVerify(first, all || !_program.FullChecksOnSecond) ?? RollbackAndVerify(second, all || _program.FullChecksOnSecond);
    }

    /// <summary>
    /// The two checkpoints to roll back to: the first among those taken before the last run when
    /// <paramref name="firstBeforeLastRun"/>, else among all; the second another one (earlier or later).
    /// </summary>
    public (CaseCheckpoint First, CaseCheckpoint Second) Targets(bool firstBeforeLastRun)
    {
        List<CaseCheckpoint> all = [.. _checkpoints.Where(c => c.HasListing).OrderBy(c => c.Id)];
        int lastRunInside = (2 * (_program.Runs.Count - 1)) + 1;
        List<CaseCheckpoint> firstPool = firstBeforeLastRun ? [.. all.Where(c => c.Phase < lastRunInside)] : all;
        CaseCheckpoint first = firstPool[_program.FirstPick % firstPool.Count];
        List<CaseCheckpoint> others = [.. all.Where(c => c != first)];
        return (first, others.Count == 0 ? first : others[_program.SecondPick % others.Count]);
    }

    /// <summary>
    /// `scoord rollback CKPT`, then: exit 0, no "conflict" on stderr, and the listing equals the one taken
    /// at the checkpoint. With <paramref name="full"/> also: `diff CKPT` prints nothing, `rollback
    /// --dry-run CKPT` says 0 changes, and a second `rollback CKPT` exits 0 without a conflict, adds no
    /// line to `log --json` and changes nothing.
    /// </summary>
    public string? RollbackAndVerify(CaseCheckpoint target, bool full)
    {
        string id = target.Id.ToString(CultureInfo.InvariantCulture);
        TreeSnapshot expected = TreeSnapshot.Load(target.ListingPrefix + ".json");
        CliResult rollback = Scoord("rollback", id);
        if (rollback.ExitCode != 0 || Conflicts(rollback) is not null)
        {
            return $"`scoord rollback {id}` (to {target}) must exit 0 with no conflict: exit {rollback.ExitCode}{Conflicts(rollback)}\n" +
                ListingDiff(expected, List("after-failed-rollback"), target);
        }

        if (!full)
        {
            string exact = TreeSnapshot.Diff(expected, List("after-rollback"), $"checkpoint {id}", "after rollback");
            return exact.Length == 0 ? null : $"the tree after `scoord rollback {id}` differs from the listing taken at {target}:\n{exact}";
        }

        // Read-only commands, in parallel: the tree, diff, dry run and the journal's length.
        Task<TreeSnapshot> listing = Task.Run(() => List("after-rollback"));
        Task<CliResult> diff = Task.Run(() => ScoordQuiet("diff", id));
        Task<CliResult> dryRun = Task.Run(() => ScoordQuiet("rollback", "--dry-run", id));
        Task<CliResult> log = Task.Run(() => ScoordQuiet("log", "--json"));
        Note(["diff", id], diff.Result);
        Note(["rollback", "--dry-run", id], dryRun.Result);
        Note(["log", "--json"], log.Result, quiet: true);
        string listingDiff = TreeSnapshot.Diff(expected, listing.Result, $"checkpoint {id}", "after rollback");
        if (listingDiff.Length > 0)
        {
            return $"the tree after `scoord rollback {id}` differs from the listing taken at {target}:\n{listingDiff}";
        }

        if (diff.Result.ExitCode != 0 || diff.Result.Stdout.Length > 0)
        {
            return $"`scoord diff {id}` right after an exact rollback to it must print nothing (exit 0); it printed (exit {diff.Result.ExitCode}):\n{Head(diff.Result.Stdout + diff.Result.Stderr, 40)}";
        }

        if (dryRun.Result.ExitCode != 0 || !dryRun.Result.StdoutLines.Any(l => l.StartsWith("dry run: 0 change(s)", StringComparison.Ordinal)))
        {
            return $"`scoord rollback --dry-run {id}` right after an exact rollback to it must say \"dry run: 0 change(s)\" (exit 0); it printed (exit {dryRun.Result.ExitCode}):\n{Head(dryRun.Result.Stdout + dryRun.Result.Stderr, 40)}";
        }

        if (log.Result.ExitCode != 0)
        {
            return $"`scoord log --json` failed: {log.Result}";
        }

        string[] logBefore = log.Result.StdoutLines;
        CliResult again = Scoord("rollback", id);
        if (again.ExitCode != 0 || Conflicts(again) is not null)
        {
            return $"a second `scoord rollback {id}` must exit 0 with no conflict: exit {again.ExitCode}{Conflicts(again)}";
        }

        Task<TreeSnapshot> listingAgain = Task.Run(() => List("after-second-rollback"));
        CliResult logAgain = ScoordQuiet("log", "--json");
        Note(["log", "--json"], logAgain, quiet: true);
        string[] logAfter = logAgain.StdoutLines;
        if (logAfter.Length != logBefore.Length)
        {
            return $"a second `scoord rollback {id}` (nothing to do) must journal nothing: `log --json` had {logBefore.Length} lines, now {logAfter.Length}; the new ones:\n" +
                Head(string.Join('\n', logAfter.Skip(logBefore.Length)), 30);
        }

        string againDiff = TreeSnapshot.Diff(expected, listingAgain.Result, $"checkpoint {id}", "after the second rollback");
        return againDiff.Length == 0 ? null : $"a second `scoord rollback {id}` changed the tree:\n{againDiff}";
    }

    /// <summary>"\n" + the stderr lines that mention a conflict, or null when there is none.</summary>
    public static string? Conflicts(CliResult r)
    {
        string[] lines = [.. r.StderrLines.Where(l => l.Contains("conflict", StringComparison.OrdinalIgnoreCase))];
        return lines.Length == 0 ? null : $" ({lines.Length} line(s) with \"conflict\" on stderr)\n" + Head(string.Join('\n', lines), 30);
    }

    /// <summary>
    /// Runs a case's checks; an exception of the test itself (a scoord command past its timeout) is a failure
    /// of this case like any other: reported with the program and what ran, and kept with SCOORD_KEEP_FAILED.
    /// </summary>
    public string? Checked(Func<string?> checks)
    {
        string? failure;
        try
        {
            failure = checks();
        }
        catch (Exception e) when (e is TimeoutException or IOException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            failure = "the test itself threw: " + e;
        }

        return failure is null ? null : Report(failure);
    }

    /// <summary>The whole report: what failed, the program with every step's outcome, and every command run.</summary>
    public string Report(string failure)
    {
        _keep = Environment.GetEnvironmentVariable("SCOORD_KEEP_FAILED") is { Length: > 0 };
        string kept = _keep ? $"\n\nkept for inspection (SCOORD_KEEP_FAILED): work {_work.Path} (listings in snap/), journal {Journal}" : "";
        return $"{failure}\n\nprogram (the smallest FsCheck found, when it shrank), with each step's outcome:\n{_program.Describe(_outcomes)}\n\n" +
            $"checkpoints: {string.Join("; ", _checkpoints)}\n\nwhat happened, in order:\n{_log}{kept}";
    }

    public void Dispose()
    {
        _mount?.Dispose();
        if (!_keep)
        {
            _work.Dispose();
            _journalTree.Dispose();
        }
    }

    /// <summary>A listing of the tree now (python3 outside scoord), kept in the snapshot folder under <paramref name="name"/>-N.</summary>
    public TreeSnapshot List(string name)
    {
        string prefix = ListTo(name);
        return TreeSnapshot.Load(prefix + ".json");
    }

    /// <summary>The path → inode number map of a listing (not compared; used to tell objects apart).</summary>
    public static Dictionary<string, long> Inodes(string prefix)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(prefix + ".inos.json"));
        return doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64(), StringComparer.Ordinal);
    }

    public string ListTo(string name)
    {
        string prefix = Path.Combine(Snap, $"{name}-{Interlocked.Increment(ref _listings)}");
        ProcResult r = Proc.Run(TreeSnapshot.Python, [_driver, "list", Root, prefix]);
        if (r.ExitCode != 0)
        {
            throw new InvalidOperationException($"listing {Root} failed: {r}");
        }

        return prefix;
    }

    /// <summary>Changes outside scoord: the driver's `outside` mode; returns each change's outcome.</summary>
    public string[] ApplyOutside(JsonArray changes)
    {
        ProcResult r = Proc.Run(TreeSnapshot.Python, [_driver, "outside", Root, changes.ToJsonString()]);
        if (r.ExitCode != 0)
        {
            throw new InvalidOperationException("the outside changes failed: " + r);
        }

        return JsonSerializer.Deserialize<string[]>(r.Stdout) ?? [];
    }

    /// <summary>Runs `scoord ARGS` and logs the command with its exit code, stdout and stderr.</summary>
    public CliResult Scoord(params string[] args)
    {
        CliResult r = ScoordQuiet(args);
        Note(args, r);
        return r;
    }

    public void Note(string text) => _log.AppendLine(text);

    public static string ListingDiff(TreeSnapshot expected, TreeSnapshot actual, CaseCheckpoint at)
    {
        string d = TreeSnapshot.Diff(expected, actual, $"checkpoint {at.Id}", "now");
        return d.Length == 0 ? "(the tree equals the checkpoint's listing)" : "listing diff:\n" + d;
    }

    public static string Head(string text, int lines)
    {
        string[] all = text.TrimEnd('\n').Split('\n');
        return all.Length <= lines ? string.Join('\n', all) : string.Join('\n', all.Take(lines)) + $"\n…({all.Length - lines} more lines)";
    }

    private CliResult ScoordQuiet(params string[] args)
    {
        var sw = Stopwatch.StartNew();
        CliResult r = Cli.Run(args);
        lock (_elapsed)
        {
            _elapsed[r] = sw.Elapsed;
        }

        return r;
    }

    private void Note(string[] args, CliResult r, bool quiet = false)
    {
        lock (_log)
        {
            double seconds;
            lock (_elapsed)
            {
                seconds = _elapsed.TryGetValue(r, out TimeSpan t) ? t.TotalSeconds : 0;
            }

            _log.Append("  $ scoord ").Append(string.Join(' ', args)).Append(CultureInfo.InvariantCulture, $"  -> exit {r.ExitCode} ({seconds:F2} s)\n");
            if (!quiet && r.Stdout.Length > 0)
            {
                _log.Append("      stdout: ").AppendLine(Head(r.Stdout, 25).Replace("\n", "\n              ", StringComparison.Ordinal));
            }

            if (r.Stderr.Length > 0)
            {
                _log.Append("      stderr: ").AppendLine(Head(r.Stderr, 25).Replace("\n", "\n              ", StringComparison.Ordinal));
            }
        }
    }

    private string? CheckpointFromOutside(int phase, string where)
    {
        CliResult r = Scoord("checkpoint");
        if (r.ExitCode != 0 || !int.TryParse(r.Stdout.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int id))
        {
            return $"`scoord checkpoint` ({where}) failed: {r}";
        }

        string prefix = Path.Combine(Snap, $"ckpt-{id}");
        ProcResult list = Proc.Run(TreeSnapshot.Python, [_driver, "list", Root, prefix]);
        if (list.ExitCode != 0)
        {
            return $"listing after checkpoint {id} failed: {list}";
        }

        _checkpoints.Add(new CaseCheckpoint(id, where, phase, prefix));
        return null;
    }

    private string[] RunArgs(int run) =>
        ["run", "--only", Root, "--exclude", Snap, "--", TreeSnapshot.Python, _driver, "run", Root, Snap,
         run.ToString(CultureInfo.InvariantCulture), JsonSerializer.Serialize(RollbackProperties.ScoordArgv())];

    private string? Run(int run)
    {
        var sw = Stopwatch.StartNew();
        CliResult r = Cli.Run(RunArgs(run));
        ParseOutcomes(run, r.StdoutLines);
        _log.Append(CultureInfo.InvariantCulture, $"  $ scoord run ... driver.py run (run {run + 1})  -> exit {r.ExitCode} ({sw.Elapsed.TotalSeconds:F1} s)\n");
        if (r.Stderr.Length > 0)
        {
            _log.Append("      stderr: ").AppendLine(Head(r.Stderr, 25));
        }

        if (r.ExitCode != 0)
        {
            return $"`scoord run` of run {run + 1} exited {r.ExitCode} (the driver catches every step's error: scoord or the driver itself failed)\nstderr:\n{Head(r.Stderr, 40)}";
        }

        int missing = _program.Runs[run].Steps.Count - _outcomes.Keys.Count(k => k.Run == run);
        return missing == 0 ? null : $"run {run + 1} exited 0 but reported no outcome for {missing} step(s)";
    }

    /// <summary>
    /// The last run under a background `scoord run`; when the driver reports step
    /// <see cref="KillPlan.AfterStep"/> done, waits <see cref="KillPlan.DelayMs"/> and SIGKILLs the
    /// coordinator (the traced processes die with it: PTRACE_O_EXITKILL).
    /// </summary>
    private string? RunAndKill(int run, KillPlan kill)
    {
        ProcessStartInfo psi = ScoordProcess.StartInfo(Journal, Root, RunArgs(run));
        psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        psi.Environment["DOTNET_EnableDiagnostics"] = "0";
        psi.Environment.Remove("SCOORD_FAULT");
        var stdout = new List<string>();
        var stderr = new StringBuilder();
        var sw = Stopwatch.StartNew();
        using var p = new Process { StartInfo = psi };
        int triggered = 0;
        string killNote = "the run ended before the kill";
        Task? killer = null;
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (stdout)
            {
                stdout.Add(e.Data);
            }

            Match m = OutLine().Match(e.Data);
            if (m.Success && int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) >= kill.AfterStep && Interlocked.Exchange(ref triggered, 1) == 0)
            {
                Volatile.Write(ref killer, Task.Run(async () =>
                {
                    await Task.Delay(kill.DelayMs);
                    string sent = $"SIGKILL sent to the coordinator (pid {p.Id}) at {sw.Elapsed.TotalSeconds:F2} s";
                    try
                    {
                        p.Kill(); // SIGKILL to the coordinator only
                        killNote = sent;
                    }
                    catch (InvalidOperationException)
                    {
                    }
                }));
            }
        };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit(180_000))
        {
            p.Kill(entireProcessTree: true);
            return "the killed run did not end within 180 s";
        }

        p.WaitForExit(10_000); // the readers reach the end of the pipes

        // The process can be seen dead (exit 137) before the killing task has noted its kill: wait for that task.
        Volatile.Read(ref killer)?.Wait(30_000);
        int exit = p.ExitCode;
        Killed = killNote.StartsWith("SIGKILL", StringComparison.Ordinal) && exit == 137;
        lock (stdout)
        {
            ParseOutcomes(run, stdout);
        }

        _log.Append(CultureInfo.InvariantCulture, $"  $ scoord run ... driver.py run (run {run + 1}, background)  -> exit {exit} ({sw.Elapsed.TotalSeconds:F1} s); {killNote}\n");
        if (stderr.Length > 0)
        {
            _log.Append("      stderr: ").AppendLine(Head(stderr.ToString(), 25));
        }

        // The traced processes die with the coordinator; wait until none is left in the tree.
        var wait = Stopwatch.StartNew();
        List<string> left;
        while ((left = FaultSupport.ProcessesIn(Root)).Count > 0 && wait.Elapsed < TimeSpan.FromSeconds(15))
        {
            Thread.Sleep(50);
        }

        if (left.Count > 0)
        {
            return "processes of the killed run survived its coordinator: " + string.Join(", ", left);
        }

        return Killed || exit == 0 ? null : $"the last run exited {exit} without being killed\nstderr:\n{Head(stderr.ToString(), 40)}";
    }

    private void ParseOutcomes(int run, IEnumerable<string> lines)
    {
        foreach (string line in lines)
        {
            Match m = OutLine().Match(line);
            if (!m.Success)
            {
                continue;
            }

            int step = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            string outcome = m.Groups[2].Value;
            _outcomes[(run, step)] = outcome;
            Match c = CheckpointOutcome().Match(outcome);
            if (c.Success)
            {
                int id = int.Parse(c.Groups[1].Value, CultureInfo.InvariantCulture);
                _checkpoints.Add(new CaseCheckpoint(id, $"from inside run {run + 1}, step {step}", (2 * run) + 1, Path.Combine(Snap, $"ckpt-{id}")));
            }
        }
    }

    private static string LoadDriverSource()
    {
        string snapshot = TreeSnapshot.PythonSource[..TreeSnapshot.PythonSource.IndexOf("if __name__", StringComparison.Ordinal)];
        using Stream s = Assembly.GetExecutingAssembly().GetManifestResourceStream("exactness_driver.py")
            ?? throw new InvalidOperationException("the embedded resource exactness_driver.py is missing");
        using var reader = new StreamReader(s);
        return snapshot + "\n" + reader.ReadToEnd();
    }

    [GeneratedRegex(@"^OUT (\d+) (.*)$")]
    private static partial Regex OutLine();

    [GeneratedRegex(@"^checkpoint (\d+)$")]
    private static partial Regex CheckpointOutcome();
}
