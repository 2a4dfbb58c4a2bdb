using Scoord.Tests.Properties;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Scenarios;

/// <summary>
/// A <see cref="TracedRun"/> with the steps every scenario takes: run a real program under scoord,
/// `scoord checkpoint` with nothing running, run a disturbing program, `scoord rollback`, and compare.
/// </summary>
public sealed class ScenarioRun : IDisposable
{
    /// <summary>Git must not read the machine's or the user's configuration, nor need an identity.</summary>
    public static readonly IReadOnlyDictionary<string, string> GitEnvironment = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["GIT_CONFIG_NOSYSTEM"] = "1",
        ["GIT_CONFIG_GLOBAL"] = "/dev/null",
        ["GIT_AUTHOR_NAME"] = "scoord test",
        ["GIT_AUTHOR_EMAIL"] = "test@scoord.invalid",
        ["GIT_COMMITTER_NAME"] = "scoord test",
        ["GIT_COMMITTER_EMAIL"] = "test@scoord.invalid",
        ["LC_ALL"] = "C",
    };

    public ScenarioRun()
    {
        foreach ((string k, string v) in GitEnvironment)
        {
            T.Cli.Environment[k] = v;
        }
    }

    public TracedRun T { get; } = new();

    /// <summary>The work tree (the programs' working directory).</summary>
    public string Tree => T.Tree.Path;

    /// <summary>A scratch folder outside the tree and outside the journal (archives, sources).</summary>
    public TempTree Outside { get; } = new("scoord-outside-");

    /// <summary>`scoord run -- command...` in the tree; fails the test unless the program exits 0.</summary>
    public void RunOk(params string[] command)
    {
        CliResult r = T.Run(command);
        Assert.True(r.ExitCode == 0, $"`scoord run -- {string.Join(' ', command)}` failed: {r}");
    }

    /// <summary>`scoord run -- sh -c script`; fails the test unless it exits 0.</summary>
    public void ShOk(string script) => RunOk("sh", "-c", script);

    /// <summary>`scoord checkpoint` with nothing running; returns the printed id.</summary>
    public string Checkpoint()
    {
        CliResult r = T.Cli.Run("checkpoint");
        Assert.True(r.ExitCode == 0, "`scoord checkpoint` failed: " + r);
        string id = r.Stdout.Trim();
        Assert.True(id.Length > 0 && id.All(char.IsAsciiDigit), "`scoord checkpoint` must print the new id: " + r);
        return id;
    }

    /// <summary>`scoord rollback id`; fails the test unless it exits 0 (everything restored, no conflict).</summary>
    public CliResult Rollback(string id)
    {
        CliResult r = T.Cli.Run("rollback", id);
        Assert.True(r.ExitCode == 0, $"`scoord rollback {id}` did not restore everything: {r}");
        return r;
    }

    public TreeSnapshot Snapshot() => TreeSnapshot.Take(Tree);

    /// <summary>Fails with the diff unless the tree now equals <paramref name="atCheckpoint"/>.</summary>
    public void AssertTreeEquals(TreeSnapshot atCheckpoint, string what, CliResult rollback)
    {
        string diff = TreeSnapshot.Diff(atCheckpoint, Snapshot());
        Assert.True(diff.Length == 0,
            $"{what}: after `scoord rollback` the tree differs from its snapshot at the checkpoint:\n{diff}\n--- rollback output ---\n{rollback}");
    }

    /// <summary>Sanity check that the disturbing program really changed the tree (else the test proves nothing).</summary>
    public void AssertTreeChanged(TreeSnapshot atCheckpoint, string what)
    {
        Assert.True(TreeSnapshot.Diff(atCheckpoint, Snapshot()).Length > 0, $"{what} did not change the tree; the scenario proves nothing");
    }

    /// <summary>A program outside scoord, in the tree unless told; fails the test unless it exits 0; returns stdout.</summary>
    public string Unjournaled(string file, params string[] args) => OutsideIn(Tree, file, args);

    public static string OutsideIn(string cwd, string file, params string[] args)
    {
        ProcResult r = Proc.Run(file, args, cwd, GitEnvironment);
        Assert.True(r.ExitCode == 0, $"`{file} {string.Join(' ', args)}` (outside scoord) failed: {r}");
        return r.Stdout;
    }

    public void Dispose()
    {
        T.Dispose();
        Outside.Dispose();
    }
}
