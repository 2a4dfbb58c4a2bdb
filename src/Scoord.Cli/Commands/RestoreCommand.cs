using System.CommandLine;
using Scoord.Coordinator.Restore;

namespace Scoord.Cli.Commands;

/// <summary>
/// `scoord restore CKPT [--force] [-- COMMAND ARGS...]`: rolls the files back to CKPT, then relaunches the
/// application under scoord in the foreground on the same journal, with the run options, command line,
/// working directory and environment of the run that CKPT belongs to (or COMMAND, in the current directory
/// and environment). Exits with the relaunched program's status; 3 (as `rollback`) when conflicts were left
/// alone, 1 when a coordinator runs or the rollback failed — in those cases nothing is relaunched.
/// </summary>
internal sealed class RestoreCommand
{
    private readonly CliApplication _app;
    private readonly Argument<string> _checkpoint = new("CKPT") { Description = "Checkpoint id (all digits) or name" };
    private readonly Option<bool> _force = new("--force") { Description = "Also restore objects changed outside the journal (passed to the rollback)" };

    private readonly Argument<string[]> _command = new("command")
    {
        Description = "The command to relaunch (after --); default: the command line of the run the checkpoint belongs to",
        HelpName = "COMMAND ARGS",
        Arity = ArgumentArity.ZeroOrMore,
    };

    public RestoreCommand(CliApplication app)
    {
        _app = app;
        Command = new Command("restore", "Roll the files back to a checkpoint and restart the application from it") { _checkpoint, _force, _command };
        Command.SetAction(parseResult => _app.Execute(parseResult, "restore", context => Execute(parseResult, context)));
    }

    public Command Command { get; }

    private int Execute(ParseResult parseResult, CommandContext context)
    {
        string[] command = parseResult.GetValue(_command) ?? [];
        if (command.Length > 0 && command[0].Length == 0)
        {
            throw new UsageException("restore: empty program name after --");
        }

        var request = new RestoreRequest
        {
            JournalDirectory = context.JournalDirectory,
            Checkpoint = parseResult.GetValue(_checkpoint)!,
            Command = command,
            Force = parseResult.GetValue(_force),
        };
        return RestoreEngine.Run(request, context.LoggerFactory, Console.Error);
    }
}
