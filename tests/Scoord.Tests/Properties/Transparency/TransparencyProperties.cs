using System.Reflection;
using System.Text;
using Scoord.Tests.Properties.Exactness;
using Scoord.Tests.Support;
using Xunit.Abstractions;

namespace Scoord.Tests.Properties.Transparency;

/// <summary>
/// Issue 13, Build item 2: a program sees under scoord exactly what it sees bare. Generated sequences of
/// syscalls with edge arguments (<see cref="SyscallProgramArb"/>) run by transparency_driver.py, bare and
/// under `scoord run`, in identical fresh trees (same relative paths; a tmpfs directory beside each for
/// EXDEV): every step's printed result (return value or errno name) and the final listings (names, types,
/// modes, owners, link counts, sizes, content hashes, link targets; relative) must be equal; then `scoord
/// rollback` to a checkpoint taken before gives the empty trees. CI: 200 cases; SCOORD_PROPERTY_CASES=N is the
/// long mode (docs/reliability.md, "Transparency").
/// </summary>
[Trait("Category", "Property")]
public sealed class TransparencyProperties(ITestOutputHelper output)
{
    private static readonly Lazy<string> s_driver = new(() =>
    {
        using Stream s = Assembly.GetExecutingAssembly().GetManifestResourceStream("transparency_driver.py")
            ?? throw new InvalidOperationException("the embedded resource transparency_driver.py is missing");
        using var reader = new StreamReader(s);
        return reader.ReadToEnd();
    });

    /// <summary>Sequences run by one driver under one `scoord run`, each in a child process and tree of its own.</summary>
    public const int SequencesPerRun = 5;

    [Fact]
    public void GeneratedSyscalls_GiveTheSameResultsAndTreeAsBare_AndRollBackToTheEmptyTree()
    {
        Assert.True(Directory.Exists("/dev/shm"), "a tmpfs at /dev/shm is needed for the EXDEV cases");
        // A case is one sequence; SequencesPerRun of them share one scoord session (checkpoint, run, rollback).
        int cases = ExactnessCheck.Cases(200);
        ExactnessCheck.Run("transparency (bare vs scoord run)", SyscallProgramArb.Programs(SequencesPerRun, 5, 40), (cases + SequencesPerRun - 1) / SequencesPerRun,
            Evaluate, output, () => $"{SequencesPerRun} sequences (cases) per scoord run", parallel: 2);
    }

    /// <summary>One case: null when it held, else the report.</summary>
    internal static string? Evaluate(SyscallProgram program)
    {
        string root = Directory.CreateTempSubdirectory("scoord-tp-").FullName;
        string shm = Path.Combine("/dev/shm", Path.GetFileName(root));
        var log = new StringBuilder();
        try
        {
            string driver = Path.Combine(root, "driver.py");
            string steps = Path.Combine(root, "steps.json");
            File.WriteAllText(driver, s_driver.Value);
            File.WriteAllText(steps, program.ToJson());
            // Same lengths on both sides: the absolute paths differ by one letter only.
            string bareTree = Dir(root, "b/t"), scoordTree = Dir(root, "s/t"); // the driver makes one subtree per sequence
            string bareShm = Dir(shm, "b"), scoordShm = Dir(shm, "s");

            ProcResult bare = Proc.Run(TreeSnapshot.Python, [driver, "run", bareTree, bareShm, steps], timeout: TimeSpan.FromSeconds(180));
            string bareList = List(driver, bareTree, bareShm);

            var cli = new ScoordCli(Path.Combine(root, "j"), root) { Timeout = TimeSpan.FromSeconds(120) };
            CliResult ckpt = cli.Run("checkpoint", "--name", "start");
            if (ckpt.ExitCode != 0)
            {
                return Report(program, "scoord checkpoint failed:\n" + ckpt, log);
            }

            CliResult traced = cli.Run("run", "--", TreeSnapshot.Python, driver, "run", scoordTree, scoordShm, steps);
            log.Append("bare:   exit ").Append(bare.ExitCode).Append('\n').Append(bare.Stdout).Append(Head(bare.Stderr));
            log.Append("scoord: exit ").Append(traced.ExitCode).Append('\n').Append(traced.Stdout).Append(Head(traced.Stderr));
            if (traced.ExitCode != bare.ExitCode || traced.Stdout != bare.Stdout)
            {
                return Report(program, "the printed results differ", log);
            }

            string scoordList = List(driver, scoordTree, scoordShm);
            if (scoordList != bareList)
            {
                return Report(program, "the final listings differ:\n" + LineDiff(bareList, scoordList), log);
            }

            CliResult rollback = cli.Run("rollback", "start");
            log.Append("rollback: exit ").Append(rollback.ExitCode).Append('\n').Append(Head(rollback.Stdout)).Append(Head(rollback.Stderr));
            string after = List(driver, scoordTree, scoordShm);
            if (rollback.ExitCode != 0 || after.Length != 0)
            {
                return Report(program, "rollback to the checkpoint before did not give the empty tree:\n" + Head(after), log);
            }

            return null;
        }
        finally
        {
            // Deeper than PATH_MAX: rm walks with directory fds where Directory.Delete cannot.
            Proc.Run("rm", ["-rf", root, shm]);
        }
    }

    private static string Dir(string parent, string relative)
    {
        string d = Path.Combine(parent, relative);
        Directory.CreateDirectory(d);
        return d;
    }

    private static string List(string driver, string tree, string shm)
    {
        ProcResult r = Proc.Run(TreeSnapshot.Python, [driver, "list", tree, shm], timeout: TimeSpan.FromSeconds(180));
        return r.ExitCode == 0 ? r.Stdout : "listing failed: " + r.Stderr;
    }

    private static string LineDiff(string expected, string actual)
    {
        var a = new HashSet<string>(expected.Split('\n'), StringComparer.Ordinal);
        var b = new HashSet<string>(actual.Split('\n'), StringComparer.Ordinal);
        var sb = new StringBuilder();
        foreach (string l in a.Where(l => !b.Contains(l)))
        {
            sb.Append("- bare   ").AppendLine(l);
        }

        foreach (string l in b.Where(l => !a.Contains(l)))
        {
            sb.Append("+ scoord ").AppendLine(l);
        }

        return sb.ToString();
    }

    private static string Head(string text) => ExactnessCase.Head(text, 40) + (text.Length > 0 ? "\n" : "");

    private static string Report(SyscallProgram program, string failure, StringBuilder log) =>
        $"{failure}\nprogram ({program.Sequences.Count} sequences, {program.StepCount} steps):\n{program}\n{log}";
}
