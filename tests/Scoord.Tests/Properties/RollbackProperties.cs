using System.Globalization;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Properties;

/// <summary>
/// Issue 3, item 6: random programs of file operations, run as one real python3 process under
/// `scoord run`, interleaved with checkpoints taken from inside the program; each checkpoint's tree
/// is snapshotted right after it is taken; then `scoord rollback` to a random checkpoint must give
/// back exactly that snapshot. FsCheck shrinks a failure to a minimal program, which the failure
/// message prints with every step's outcome and the snapshot diff.
/// </summary>
[Trait("Category", "Property")]
public sealed class RollbackProperties
{
    /// <summary>Cases per property; SCOORD_PROPERTY_CASES raises it for a longer local run.</summary>
    private static int Cases(int ciDefault) =>
        int.TryParse(Environment.GetEnvironmentVariable("SCOORD_PROPERTY_CASES"), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : ciDefault;

    [Fact]
    public void RollbackToARandomCheckpoint_GivesBackTheTreeSnapshottedAtIt()
    {
        RequireUserXattrs();
        CheckPrograms(FileProgramArb.Programs(maxSteps: 12, rollbacks: 1), Cases(25));
    }

    [Fact]
    public void ChainOfTwoRollbacks_EarlierAndLaterCheckpointsStayReachable()
    {
        RequireUserXattrs();
        CheckPrograms(FileProgramArb.Programs(maxSteps: 10, rollbacks: 2), Cases(10));
    }

    private static void CheckPrograms(Arbitrary<FileProgram> programs, int cases)
    {
        string? lastFailure = null;
        Property property = Prop.ForAll(programs, (FileProgram program) =>
        {
            string? failure;
            try
            {
                failure = Execute(program);
            }
            catch (Exception e)
            {
                failure = "the test itself threw: " + e;
            }

            if (failure is not null)
            {
                // The last failing evaluation is the shrunk (minimal) counterexample.
                lastFailure = failure;
                throw new PropertyFailedException(failure);
            }
        });

        try
        {
            Check.One(Config.QuickThrowOnFailure.WithMaxTest(cases), property);
        }
        catch (Exception e)
        {
            Assert.Fail($"rollback property failed; minimal failing case:\n{lastFailure ?? "(none recorded)"}\n\n--- FsCheck ---\n{Truncate(e.Message, 6000)}");
        }
    }

    /// <summary>Runs one program and its rollbacks; null when everything matched, else a report.</summary>
    internal static string? Execute(FileProgram program)
    {
        using var t = new TracedRun();
        string tree = t.Tree.CreateDirectory("tree");
        string snap = t.Tree.CreateDirectory("snap");
        t.Cli.WorkingDirectory = tree;
        t.Cli.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        t.Cli.Environment["DOTNET_EnableDiagnostics"] = "0";

        ProcResult setup = Proc.Run(TreeSnapshot.Python, ["-c", FileProgram.SetupPython, tree]);
        if (setup.ExitCode != 0)
        {
            throw new InvalidOperationException("setup failed: " + setup);
        }

        string script = Path.Combine(snap, "prog.py");
        File.WriteAllText(script, program.ToPython());
        string scoordArgv = JsonSerializer.Serialize(ScoordArgv());

        // The journal covers the work space (tree and snap) but not the snapshot folder: the snapshots
        // written after each checkpoint are not part of what is rolled back.
        CliResult run = t.Cli.Run("run", "--only", t.Tree.Path, "--exclude", snap, "--", TreeSnapshot.Python, script, tree, snap, scoordArgv);
        var report = new StringBuilder();
        string resultFile = Path.Combine(snap, "result.json");
        if (run.ExitCode != 0 || !File.Exists(resultFile))
        {
            return $"program:\n{program}\n`scoord run` of the program failed: {run}";
        }

        using JsonDocument result = JsonDocument.Parse(File.ReadAllText(resultFile));
        int[] ids = [.. result.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())];
        var outcomes = result.RootElement.GetProperty("outcomes").EnumerateObject()
            .ToDictionary(o => int.Parse(o.Name, CultureInfo.InvariantCulture), o => o.Value.GetString() ?? "");
        string listing = program.Describe(outcomes);
        // A fresh journal numbers its checkpoints 1, 2, 3... in the order taken.
        if (ids.Length == 0 || !ids.SequenceEqual(Enumerable.Range(1, ids.Length)))
        {
            return $"program:\n{listing}\ncheckpoint ids printed from inside were [{string.Join(", ", ids)}], expected 1, 2, 3...";
        }

        foreach (int pick in program.RollbackPicks)
        {
            int id = ids[pick % ids.Length];
            string idText = id.ToString(CultureInfo.InvariantCulture);
            CliResult rollback = t.Cli.Run("rollback", idText);
            report.Append(CultureInfo.InvariantCulture, $"pick {pick} of checkpoints [{string.Join(", ", ids)}]: `scoord rollback {idText}`: exit {rollback.ExitCode}\n");
            if (rollback.ExitCode != 0)
            {
                return $"program:\n{listing}\n{report}`scoord rollback {idText}` did not restore everything: {rollback}";
            }

            TreeSnapshot expected = TreeSnapshot.Load(Path.Combine(snap, $"ckpt-{idText}.json"));
            TreeSnapshot actual = TreeSnapshot.Take(tree);
            string diff = TreeSnapshot.Diff(expected, actual, $"checkpoint {idText}", "after rollback");
            if (diff.Length > 0)
            {
                return $"program:\n{listing}\n{report}tree after `scoord rollback {idText}` differs from the snapshot taken at checkpoint {idText}:\n{diff}" +
                    $"rollback stdout/stderr:\n{rollback.Stdout}{rollback.Stderr}";
            }
        }

        return null;
    }

    /// <summary>The argv that runs the built scoord (the apphost, else `dotnet scoord.dll`).</summary>
    internal static string[] ScoordArgv()
    {
        string bin = ScoordCli.BinaryPath;
        if (!bin.EndsWith(".dll", StringComparison.Ordinal))
        {
            return [bin];
        }

        string? host = Environment.ProcessPath;
        return [host is not null && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet", bin];
    }

    /// <summary>The trees live under the temp dir; the property needs user.* xattrs there (ext4 has them).</summary>
    internal static void RequireUserXattrs()
    {
        using var probe = new TempTree("scoord-xattr-probe-");
        string file = probe.WriteFile("f", "x");
        ProcResult r = Proc.Run(TreeSnapshot.Python, ["-c", "import os, sys; os.setxattr(sys.argv[1], 'user.probe', b'1'); print(os.getxattr(sys.argv[1], 'user.probe'))", file]);
        Assert.True(r.ExitCode == 0,
            $"the test trees under {Path.GetTempPath()} must be on a filesystem with user.* xattrs (ext4, xfs, btrfs, tmpfs ≥ 6.6); setxattr failed: {r}");
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + "\n…(truncated)";

    private sealed class PropertyFailedException(string message) : Exception(message);
}
