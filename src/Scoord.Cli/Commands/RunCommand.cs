using System.CommandLine;
using Scoord.Cli.Logging;
using Scoord.Cli.Parsing;
using Scoord.Coordinator;

namespace Scoord.Cli.Commands;

/// <summary>`scoord run [options] -- PROG ARGS...`: runs PROG under the tracer, exits with its status.</summary>
internal sealed class RunCommand
{
    private readonly CliApplication _app;

    private readonly Option<string?> _checkpointEvery = new("--checkpoint-every")
    {
        Description = "Take a checkpoint every DURATION (500ms, 30s, 5m, 1h)",
        HelpName = "DURATION",
    };

    private readonly Option<string> _durability = new("--durability")
    {
        Description = "When the journal reaches the disk: process (default), sync-points, strict",
        HelpName = "LEVEL",
        DefaultValueFactory = _ => "process",
    };

    private readonly Option<string[]> _exclude = new("--exclude")
    {
        Description = "Do not journal objects under PATH (repeatable)",
        HelpName = "PATH",
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string[]> _only = new("--only")
    {
        Description = "Journal only objects under PATH (repeatable)",
        HelpName = "PATH",
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Argument<string[]> _program = new("command")
    {
        Description = "The program and its arguments (after --, passed verbatim)",
        HelpName = "PROG ARGS",
        Arity = ArgumentArity.ZeroOrMore,
    };

    public RunCommand(CliApplication app)
    {
        _app = app;
        Command = new Command("run", "Run a program and journal every file change of it and its children")
        {
            _checkpointEvery,
            _durability,
            _exclude,
            _only,
            _program,
        };
        Command.SetAction(parseResult => _app.Execute(parseResult, "run", context => Execute(parseResult, context)));
    }

    public Command Command { get; }

    private int Execute(ParseResult parseResult, CommandContext context)
    {
        string[] program = parseResult.GetValue(_program) ?? [];
        if (program.Length == 0 || program[0].Length == 0)
        {
            throw new UsageException("run: no program given (usage: scoord run [options] -- PROG [ARGS...])");
        }

        string? every = parseResult.GetValue(_checkpointEvery);
        string durability = parseResult.GetValue(_durability) ?? "process";
        var options = new RunOptions
        {
            JournalDirectory = context.JournalDirectory,
            Command = program,
            Exclude = AbsolutePaths(parseResult.GetValue(_exclude)),
            Only = AbsolutePaths(parseResult.GetValue(_only)),
            Durability = ParseDurability(durability),
            CheckpointEvery = every is null ? null : DurationParser.Parse("--checkpoint-every", every),
        };

        context.Logger.RunStarting(program[0], program.Length - 1, durability, every ?? "never");
        int status = Runner.Run(options, context.LoggerFactory);
        context.Logger.RunFinished(status);
        return status;
    }

    internal static Durability ParseDurability(string text) => text switch
    {
        "process" => Durability.Process,
        "sync-points" => Durability.SyncPoints,
        "strict" => Durability.Strict,
        _ => throw new UsageException($"--durability: '{text}' is not one of process, sync-points, strict"),
    };

    private static string[] AbsolutePaths(string[]? paths)
    {
        if (paths is null || paths.Length == 0)
        {
            return [];
        }

        var result = new string[paths.Length];
        for (int i = 0; i < paths.Length; i++)
        {
            if (paths[i].Length == 0)
            {
                throw new UsageException("--exclude/--only: empty path");
            }

            result[i] = Path.TrimEndingDirectorySeparator(Path.GetFullPath(paths[i]));
        }

        return result;
    }
}
