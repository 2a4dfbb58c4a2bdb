using System.CommandLine;

namespace Scoord.Cli.Commands;

/// <summary>
/// A command that reports on the journal, as text or, with --json, as JSON (`scoord checkpoints`,
/// `scoord status`): the option, the command and its action are built here once.
/// </summary>
internal abstract class ReportCommand
{
    private readonly Option<bool> _json;

    protected ReportCommand(CliApplication app, string name, string description, string jsonDescription)
    {
        _json = new Option<bool>("--json") { Description = jsonDescription };
        Command = new Command(name, description) { _json };
        Command.SetAction(parseResult => app.Execute(parseResult, name, context => Report(context, parseResult.GetValue(_json))));
    }

    public Command Command { get; }

    /// <summary>Writes the report to the context's stdout; returns the exit code.</summary>
    protected abstract int Report(CommandContext context, bool json);
}
