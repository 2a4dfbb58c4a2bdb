using System.CommandLine;
using Microsoft.Extensions.Logging;
using Scoord.Cli.Parsing;

namespace Scoord.Cli;

/// <summary>Options every command takes (Recursive: accepted before or after the command name).</summary>
internal sealed class GlobalOptions
{
    public const string JournalEnvironmentVariable = "SCOORD_JOURNAL";
    public const string DefaultJournalDirectory = ".scoord";

    public Option<string?> Journal { get; } = new("--journal")
    {
        Description = "Journal directory (default: $SCOORD_JOURNAL, else ./.scoord)",
        HelpName = "DIR",
        Recursive = true,
    };

    public Option<bool> Verbose { get; } = new("--verbose", "-v")
    {
        Description = "Log to stderr: -v information, -vv debug, -vvv trace (or -v LEVEL)",
        Arity = ArgumentArity.Zero,
        Recursive = true,
    };

    /// <summary>Where `-v LEVEL` lands after <see cref="ArgumentPreparer"/>; not shown in help.</summary>
    public Option<string?> VerbosityLevel { get; } = new(ArgumentPreparer.VerbosityOptionName)
    {
        Hidden = true,
        Recursive = true,
    };

    public void AddTo(RootCommand root)
    {
        root.Add(Journal);
        root.Add(Verbose);
        root.Add(VerbosityLevel);
    }

    /// <summary>--journal, else $SCOORD_JOURNAL, else ./.scoord; always absolute.</summary>
    public string ResolveJournalDirectory(ParseResult parseResult)
    {
        string? dir = parseResult.GetValue(Journal);
        if (string.IsNullOrEmpty(dir))
        {
            dir = Environment.GetEnvironmentVariable(JournalEnvironmentVariable);
        }

        if (string.IsNullOrEmpty(dir))
        {
            dir = DefaultJournalDirectory;
        }

        return Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
    }

    public LogLevel ResolveLogLevel(ParseResult parseResult)
    {
        int count = parseResult.GetResult(Verbose)?.IdentifierTokenCount ?? 0;
        LogLevel level = Verbosity.FromCount(count);
        string? named = parseResult.GetValue(VerbosityLevel);
        if (named is not null)
        {
            if (!Verbosity.TryParseLevel(named, out LogLevel parsed))
            {
                throw new UsageException($"--verbose: unknown level '{named}' (use information, debug or trace)");
            }

            level = parsed < level ? parsed : level;
        }

        return level;
    }
}
