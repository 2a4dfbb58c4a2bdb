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

    /// <summary>Starts `scoord ARGS` in the tree with the run's journal, stdout/stderr captured.</summary>
    public static Process Start(TracedRun t, params string[] args)
    {
        string bin = ScoordCli.BinaryPath;
        bool dll = bin.EndsWith(".dll", StringComparison.Ordinal);
        var psi = new ProcessStartInfo(dll ? "dotnet" : bin)
        {
            WorkingDirectory = t.Tree.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (dll)
        {
            psi.ArgumentList.Add(bin);
        }

        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["SCOORD_JOURNAL"] = t.Journal;
        Process p = Process.Start(psi)!;
        p.StandardInput.Close();
        return p;
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
