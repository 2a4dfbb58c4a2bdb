using System.CommandLine;
using Scoord.Cli.Logging;
using Scoord.Cli.Output;
using Scoord.Coordinator;
using Scoord.Coordinator.Rollback;
using Scoord.Journal;

namespace Scoord.Cli.Commands;

/// <summary>
/// `scoord demo`: in a fresh temporary tree (the journal in a temporary directory of its own, never inside
/// the traced tree), takes a checkpoint, runs a small shell script under the tracer, prints its journal and
/// its diff against the checkpoint, rolls back and shows the tree is back; then removes both temporary
/// directories (unless --keep) and prints commands to try on one's own files, spelled so that they work
/// before scoord is on PATH.
/// </summary>
internal sealed class DemoCommand
{
    /// <summary>The script: create, append, mkdir, rename, symlink, unlink — and one failing unlink.</summary>
    internal const string Script =
        "cd \"$1\" && echo hello > a.txt; echo more >> a.txt; mkdir d; mv a.txt d/b.txt; " +
        "ln -s d/b.txt link; rm link; rm notes.txt; rm -f missing";

    private readonly CliApplication _app;
    private readonly Option<bool> _keep = new("--keep") { Description = "Keep the temporary tree and journal (their paths are printed)" };

    public DemoCommand(CliApplication app)
    {
        _app = app;
        Command = new Command("demo", "Run a small shell script under scoord, show its journal, roll it back") { _keep };
        Command.SetAction(parseResult => _app.Execute(parseResult, "demo", context => Execute(parseResult, context)));
    }

    public Command Command { get; }

    private int Execute(ParseResult parseResult, CommandContext context)
    {
        bool keep = parseResult.GetValue(_keep);
        string tree = Directory.CreateTempSubdirectory("scoord-demo-").FullName;
        string journalParent = Directory.CreateTempSubdirectory("scoord-demo-journal-").FullName;
        string journal = Path.Combine(journalParent, "journal");
        context.Logger.DemoDirectories(tree, journal);
        try
        {
            return Show(context, tree, journal);
        }
        finally
        {
            if (keep)
            {
                context.Stdout.WriteLine("kept: the tree " + tree + ", the journal " + journal);
            }
            else
            {
                Directory.Delete(tree, recursive: true);
                Directory.Delete(journalParent, recursive: true);
            }

            context.Stdout.Flush();
        }
    }

    private static int Show(CommandContext context, string tree, string journal)
    {
        StdoutWriter o = context.Stdout;
        File.WriteAllText(Path.Combine(tree, "notes.txt"), "my notes\n");
        using (JournalStore store = JournalStore.OpenForWriting(journal))
        {
            store.Writer.AppendCheckpoint("start", (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100);
            store.Writer.Commit(sync: true);
        }

        o.WriteLine("the tree holds notes.txt; checkpoint 1 (start) taken");
        o.WriteLine("$ sh -c '" + Script.Replace("\"$1\"", tree, StringComparison.Ordinal) + "'");
        o.Flush();
        int status = Runner.Run(new RunOptions { JournalDirectory = journal, Command = ["sh", "-c", Script, "sh", tree] }, context.LoggerFactory);

        o.WriteLine();
        o.WriteLine("the journal of that run (scoord log):");
        using (JournalStore store = JournalStore.OpenReadOnly(journal))
        using (var table = new LogTableWriter(o))
        {
            foreach (JournalEntry e in store.Reader.Read())
            {
                table.Write(e);
            }
        }

        o.WriteLine();
        o.WriteLine("what changed since the checkpoint (scoord diff start):");
        foreach (PathChange c in JournalDiff.Compute(journal, "start"))
        {
            o.WriteLine("  " + c.ToText());
        }

        RollbackResult r = RollbackEngine.Run(journal, "start", dryRun: false, force: false, progress: null);
        o.WriteLine();
        o.WriteLine($"scoord rollback start: {r.Actions} actions, {r.Errors.Count + r.ConflictsLeftAlone} problems; the tree now holds: "
            + string.Join(", ", Directory.EnumerateFileSystemEntries(tree).Select(Path.GetFileName).Order(StringComparer.Ordinal)));

        string self = SelfCommand();
        o.WriteLine();
        o.WriteLine("on your own files (in a directory of yours; the journal goes to ./.scoord):");
        o.WriteLine($"  {self} checkpoint --name before");
        o.WriteLine($"  {self} run -- sh -c 'date > now.txt; rm -f old.txt'");
        o.WriteLine($"  {self} diff before");
        o.WriteLine($"  {self} rollback before");
        if (status != 0 || r.ExitCode != 0)
        {
            o.Flush();
            throw new ScoordException($"demo: the script exited with status {status}, the rollback with {r.ExitCode}");
        }

        return ExitCodes.Success;
    }

    /// <summary>How to run this very scoord: its apphost, or `dotnet scoord.dll` under the dotnet host.</summary>
    private static string SelfCommand()
    {
        string? process = Environment.ProcessPath;
        if (process is not null && Path.GetFileName(process) == "scoord")
        {
            return Quote(process);
        }

        string dll = Path.Combine(AppContext.BaseDirectory, "scoord.dll");
        string apphost = Path.Combine(AppContext.BaseDirectory, "scoord");
        return File.Exists(apphost) ? Quote(apphost) : "dotnet " + Quote(dll);
    }

    private static string Quote(string s) => s.Contains(' ', StringComparison.Ordinal) || s.Contains('\'', StringComparison.Ordinal) ? "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'" : s;
}
