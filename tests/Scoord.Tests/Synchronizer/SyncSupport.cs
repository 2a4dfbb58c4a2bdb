using System.Diagnostics;
using System.Text.Json;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Synchronizer;

/// <summary>Helpers of the synchronizer tests: scoord in the background, checkpoints, waiting.</summary>
internal static class SyncSupport
{
    private static readonly Lazy<string> s_python = new(FindPython);

    /// <summary>The real python3 binary (not a pyenv shim script), so the traced tree is just python.</summary>
    public static string Python => s_python.Value;

    /// <summary>Starts `scoord ARGS` in the tree with the run's journal; stdout and stderr are collected as they come.</summary>
    public static BackgroundScoord Start(TracedRun t, params string[] args)
    {
        ProcessStartInfo psi = ScoordProcess.StartInfo(t.Journal, t.Tree.Path, args, redirectInput: true);
        return new BackgroundScoord(psi);
    }

    public static void WaitFor(Func<bool> condition, string what, double seconds = 30)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(seconds), "timed out waiting for " + what);
            Thread.Sleep(20);
        }
    }

    /// <summary>`scoord checkpoints --json` parsed: (id, name, seq), oldest first.</summary>
    public static List<(int Id, string Name, ulong Seq)> Checkpoints(TracedRun t)
    {
        CliResult r = t.Cli.Run("checkpoints", "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        var list = new List<(int, string, ulong)>();
        foreach (string line in r.StdoutLines)
        {
            JsonElement e = JsonDocument.Parse(line).RootElement;
            list.Add((e.GetProperty("id").GetInt32(), e.GetProperty("name").GetString()!, e.GetProperty("seq").GetUInt64()));
        }

        return list;
    }

    /// <summary>True when the process is gone or a zombie.</summary>
    public static bool IsDead(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] is 'Z' or 'X';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    private static string FindPython()
    {
        var psi = new ProcessStartInfo("python3") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("import sys; print(sys.executable)");
        using Process p = Process.Start(psi)!;
        string path = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0 && File.Exists(path), "python3 is needed by the synchronizer tests");
        return path;
    }
}

/// <summary>A scoord process in the background whose output is read as it comes (a full pipe never blocks it).</summary>
internal sealed class BackgroundScoord : IDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _stdout = new();
    private readonly System.Text.StringBuilder _stderr = new();

    public BackgroundScoord(ProcessStartInfo psi)
    {
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
        _process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        _process.Start();
        _process.StandardInput.Close();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>SIGKILL to scoord alone (the traced app dies with it: PTRACE_O_EXITKILL).</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            return false;
        }

        _process.WaitForExit(); // drains the output readers
        return true;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    public override string ToString() =>
        $"scoord pid {_process.Id}, {(HasExited ? "exit " + ExitCode : "running")}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";

    private static void Append(System.Text.StringBuilder b, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (b)
        {
            b.Append(line).Append('\n');
        }
    }
}
