using System.CommandLine;
using Scoord.Cli.Logging;
using Scoord.Cli.Parsing;
using Scoord.Coordinator;
using Scoord.Coordinator.Restore;

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

    private readonly Option<bool> _journalStdio = new("--journal-stdio")
    {
        Description = "Also journal the files open on fds 0-2 when the run starts (by default they belong to the caller, e.g. `>> build.log`, and are left out of the journal and of rollbacks)",
    };

    private readonly Option<string[]> _only = new("--only")
    {
        Description = "Journal only objects under PATH (repeatable)",
        HelpName = "PATH",
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string[]> _appCheckpoint = new("--app-checkpoint")
    {
        Description = "Take a rollback point whenever the app finishes writing a file matching GLOB (renamed into place, or closed after writing); repeatable; relative globs are relative to the current directory",
        HelpName = "GLOB",
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string?> _onCheckpoint = new("--on-checkpoint")
    {
        Description = "Run CMD (sh -c) inside every checkpoint barrier, with SCOORD_CHECKPOINT_ID and SCOORD_PIDS set; a non-zero exit fails the checkpoint",
        HelpName = "CMD",
    };

    private readonly Option<string?> _checkpointSignal = new("--checkpoint-signal")
    {
        Description = "With --checkpoint-every and --app-checkpoint: send SIG to the program every DURATION instead; the checkpoint file it writes in answer is the rollback point",
        HelpName = "SIG",
    };

    private readonly Option<string?> _checkpointTimeout = new("--checkpoint-timeout")
    {
        Description = "How long the app may take to answer --checkpoint-signal before a warning (default 60s)",
        HelpName = "DURATION",
    };

    private readonly Option<string?> _memory = new("--memory")
    {
        Description = "Memory checkpoint provider: app (default with --app-checkpoint), none (default otherwise), scoord (scoord dumps the processes itself; ptrace only: turns the in-process fast path off for the run), criu",
        HelpName = "PROVIDER",
    };

    private readonly Option<bool> _noFastPath = new("--no-fastpath")
    {
        Description = "Journal through ptrace only, without the in-process fast path that is on by default (the mode for untrusted programs; also SCOORD_NO_FASTPATH=1 or SCOORD_FASTPATH=0)",
        Arity = ArgumentArity.Zero,
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
            _appCheckpoint,
            _onCheckpoint,
            _checkpointSignal,
            _checkpointTimeout,
            _memory,
            _exclude,
            _only,
            _journalStdio,
            _noFastPath,
            _program,
        };
        Command.SetAction(parseResult => _app.Execute(parseResult, "run", context => Execute(parseResult, context), context => BuildOptions(parseResult, context)));
    }

    public Command Command { get; }

    private int Execute(ParseResult parseResult, CommandContext context)
    {
        RunOptions options = BuildOptions(parseResult, context);
        string durability = parseResult.GetValue(_durability) ?? "process";
        context.Logger.RunStarting(options.Command[0], options.Command.Count - 1, durability, parseResult.GetValue(_checkpointEvery) ?? "never");
        int status = Runner.Run(options, context.LoggerFactory);
        context.Logger.RunFinished(status);
        return status;
    }

    /// <summary>The run's options from the command line; a <see cref="UsageException"/> for bad ones. No side effects.</summary>
    private RunOptions BuildOptions(ParseResult parseResult, CommandContext context)
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
            JournalStdio = parseResult.GetValue(_journalStdio),
            Durability = ParseDurability(durability),
            CheckpointEvery = every is null ? null : DurationParser.Parse("--checkpoint-every", every),
            NoFastPath = parseResult.GetValue(_noFastPath),
        };
        return WithSynchronizerOptions(parseResult, options);
    }

    /// <summary>--app-checkpoint, --on-checkpoint, --checkpoint-signal, --checkpoint-timeout, --memory (docs/synchronizer.md).</summary>
    private RunOptions WithSynchronizerOptions(ParseResult parseResult, RunOptions options)
    {
        string[] globs = AbsoluteGlobs(parseResult.GetValue(_appCheckpoint), Environment.CurrentDirectory);
        string? onCheckpoint = parseResult.GetValue(_onCheckpoint);
        if (onCheckpoint is not null && onCheckpoint.Trim().Length == 0)
        {
            throw new UsageException("--on-checkpoint: empty command");
        }

        int? signal = null;
        if (parseResult.GetValue(_checkpointSignal) is { } sigText)
        {
            if (!Signals.TryParse(sigText, out int sig, out string? error))
            {
                throw new UsageException("--checkpoint-signal: " + error);
            }

            if (options.CheckpointEvery is null)
            {
                throw new UsageException("--checkpoint-signal needs --checkpoint-every DURATION (how often to send it)");
            }

            if (globs.Length == 0)
            {
                throw new UsageException("--checkpoint-signal needs --app-checkpoint GLOB (the file the app writes in answer)");
            }

            signal = sig;
        }

        TimeSpan timeout = TimeSpan.FromSeconds(60);
        if (parseResult.GetValue(_checkpointTimeout) is { } timeoutText)
        {
            if (signal is null)
            {
                throw new UsageException("--checkpoint-timeout is for --checkpoint-signal");
            }

            timeout = DurationParser.Parse("--checkpoint-timeout", timeoutText);
        }

        MemoryProvider memory = globs.Length > 0 ? MemoryProvider.App : MemoryProvider.None;
        if (parseResult.GetValue(_memory) is { } memoryText)
        {
            if (!MemoryProviders.TryParse(memoryText, out memory))
            {
                throw new UsageException($"--memory: '{memoryText}' is not one of app, none, scoord, criu");
            }

            if (memory == MemoryProvider.App && globs.Length == 0)
            {
                throw new UsageException("--memory app needs --app-checkpoint GLOB (the files the app checkpoints itself into)");
            }
        }

        return options with
        {
            AppCheckpoint = globs,
            OnCheckpoint = onCheckpoint,
            CheckpointSignal = signal,
            CheckpointTimeout = timeout,
            Memory = memory,
        };
    }

    /// <summary>
    /// Globs as given, made absolute: a relative glob is relative to <paramref name="cwd"/> (whose glob
    /// characters are quoted with a backslash); "." and ".." components are resolved. Invalid globs are refused.
    /// </summary>
    internal static string[] AbsoluteGlobs(string[]? globs, string cwd)
    {
        if (globs is null || globs.Length == 0)
        {
            return [];
        }

        var result = new string[globs.Length];
        for (int i = 0; i < globs.Length; i++)
        {
            string g = globs[i];
            if (g.Length == 0)
            {
                throw new UsageException("--app-checkpoint: empty glob");
            }

            string full = g[0] == '/' ? g : QuoteGlob(cwd.TrimEnd('/')) + "/" + g;
            full = NormalizeComponents(full);
            try
            {
                PathGlob.Parse(full);
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"--app-checkpoint: '{g}' is not a valid glob ({e.Message})");
            }

            result[i] = full;
        }

        return result;
    }

    private static string QuoteGlob(string path)
    {
        var b = new System.Text.StringBuilder(path.Length + 8);
        foreach (char c in path)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                b.Append('\\');
            }

            b.Append(c);
        }

        return b.ToString();
    }

    /// <summary>Drops empty and "." components, and a ".." with the literal component before it.</summary>
    private static string NormalizeComponents(string absolute)
    {
        var parts = new List<string>();
        foreach (string part in absolute.Split('/'))
        {
            if (part.Length == 0 || part == ".")
            {
                continue;
            }

            if (part == ".." && parts.Count > 0 && parts[^1] != "**" && parts[^1] != "..")
            {
                parts.RemoveAt(parts.Count - 1);
                continue;
            }

            parts.Add(part);
        }

        return "/" + string.Join('/', parts);
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
