using System.CommandLine;
using Scoord.Cli.Logging;
using Scoord.Cli.Output;
using Scoord.Coordinator;
using Scoord.Journal;

namespace Scoord.Cli.Commands;

/// <summary>
/// `scoord demo`: runs a small shell script under the tracer in a fresh temporary tree, with the
/// journal in a separate temporary directory (never inside the traced tree), and prints the journal.
/// </summary>
internal sealed class DemoCommand
{
    /// <summary>The script: create, append, mkdir, rename, symlink, unlink — and one failing unlink.</summary>
    internal const string Script =
        "cd \"$1\" && echo hello > a.txt; echo more >> a.txt; mkdir d; mv a.txt d/b.txt; " +
        "ln -s d/b.txt link; rm link; rm -f missing";

    private readonly CliApplication _app;

    public DemoCommand(CliApplication app)
    {
        _app = app;
        Command = new Command("demo", "Run a small shell script under scoord and print its journal");
        Command.SetAction(parseResult => _app.Execute(parseResult, "demo", Execute));
    }

    public Command Command { get; }

    private static int Execute(CommandContext context)
    {
        string tree = Directory.CreateTempSubdirectory("scoord-demo-").FullName;
        string journal = Path.Combine(Directory.CreateTempSubdirectory("scoord-demo-journal-").FullName, "journal");
        context.Logger.DemoDirectories(tree, journal);

        StdoutWriter o = context.Stdout;
        o.WriteLine("$ sh -c '" + Script.Replace("\"$1\"", tree, StringComparison.Ordinal) + "'");
        o.Flush();

        var options = new RunOptions
        {
            JournalDirectory = journal,
            Command = ["sh", "-c", Script, "sh", tree],
        };
        int status = Runner.Run(options, context.LoggerFactory);

        o.WriteLine();
        o.WriteLine("journal of that run:");
        using (JournalStore store = JournalStore.OpenReadOnly(journal))
        using (var table = new LogTableWriter(o))
        {
            foreach (JournalEntry e in store.Reader.Read())
            {
                table.Write(e);
            }
        }

        o.WriteLine();
        o.WriteLine("traced tree: " + tree);
        o.WriteLine("journal:     " + journal);
        o.WriteLine("try:         scoord --journal " + journal + " log --json");
        if (status != 0)
        {
            o.Flush();
            throw new ScoordException($"demo: the script exited with status {status}");
        }

        return ExitCodes.Success;
    }
}
