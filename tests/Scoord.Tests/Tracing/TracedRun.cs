using System.Diagnostics;
using Scoord.Tests.Support;

namespace Scoord.Tests.Tracing;

/// <summary>A work tree and a journal beside it (never inside: the app may not touch the journal).</summary>
public sealed class TracedRun : IDisposable
{
    public TempTree Tree { get; } = new("scoord-tree-");
    public TempTree JournalTree { get; } = new("scoord-journal-");
    public string Journal => JournalTree.Combine("j");
    public ScoordCli Cli { get; }

    public TracedRun()
    {
        Cli = new ScoordCli(Journal, Tree.Path) { Timeout = TimeSpan.FromSeconds(120) };
    }

    public string Path(string relative) => Tree.Combine(relative);

    /// <summary>`scoord run -- args...` in the tree.</summary>
    public CliResult Run(params string[] command) => Cli.Run(["run", "--", .. command]);

    /// <summary>`scoord run -- sh -c script`.</summary>
    public CliResult Sh(string script) => Run("sh", "-c", script);

    /// <summary>The whole journal as parsed `scoord log --json` lines.</summary>
    public IReadOnlyList<LogLine> Log(params string[] filters)
    {
        CliResult r = Cli.Run(["log", "--json", .. filters]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.LogLines;
    }

    public static string Compile(TempTree where, string name, string source, params string[] flags)
    {
        string src = where.WriteFile(name + ".c", source);
        string exe = where.Combine(name);
        var psi = new ProcessStartInfo("cc") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string f in flags)
        {
            psi.ArgumentList.Add(f);
        }

        psi.ArgumentList.Add("-o");
        psi.ArgumentList.Add(exe);
        psi.ArgumentList.Add(src);
        using Process p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, "cc failed: " + err);
        return exe;
    }

    public void Dispose()
    {
        Tree.Dispose();
        JournalTree.Dispose();
    }
}
