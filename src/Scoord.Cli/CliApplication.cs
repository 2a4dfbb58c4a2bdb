using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Microsoft.Extensions.Logging;
using Scoord.Cli.Commands;
using Scoord.Cli.Logging;
using Scoord.Cli.Output;
using Scoord.Cli.Parsing;
using Scoord.Journal;

namespace Scoord.Cli;

/// <summary>
/// The `scoord` command tree and its error policy (docs/cli.md, "Exit codes"): every error is ONE
/// line <c>scoord: message</c> on stderr; 2 for a wrong command line, 1 for a runtime error, 70 for
/// a bug (the stack trace only with -v debug).
/// </summary>
internal sealed class CliApplication
{
    /// <summary>
    /// No response files: "@x" is an ordinary argument. System.CommandLine would otherwise read the file x
    /// in place of the argument (and throw, uncaught, for "@." or an unreadable file; found by the fuzz
    /// target "cli"), and a traced program's own "@file" argument would be expanded by scoord.
    /// </summary>
    private static readonly ParserConfiguration s_parserConfiguration = new() { ResponseFileTokenReplacer = null };

    private readonly GlobalOptions _globals = new();
    private readonly RootCommand _root;
    private readonly Command _run;
    private readonly TextWriter _stderr;

    public CliApplication(TextWriter stderr)
    {
        _stderr = stderr;
        _root = new RootCommand(
            "scoord: runs a program and journals every file change it makes, before the kernel performs it.");
        _globals.AddTo(_root);

        _run = new RunCommand(this).Command;
        _root.Add(_run);
        _root.Add(new LogCommand(this).Command);
        _root.Add(new StatusCommand(this).Command);
        _root.Add(new CheckpointCommand(this).Command);
        _root.Add(new CheckpointsCommand(this).Command);
        _root.Add(new RollbackCommand(this).Command);
        _root.Add(new RestoreCommand(this).Command);
        _root.Add(new DiffCommand(this).Command);
        _root.Add(new ImageCommand(this).Command);
        _root.Add(new PruneCommand(this).Command);
        _root.Add(new FsckCommand(this).Command);
        _root.Add(new DemoCommand(this).Command);

        _root.SetAction(parseResult =>
        {
            new HelpAction().Invoke(parseResult);
            return ExitCodes.Success;
        });
    }

    public GlobalOptions Globals => _globals;

    /// <summary>
    /// Parse and check the command line exactly as <see cref="Run"/> does, but run no command: each command
    /// only validates its arguments (the fuzz target "cli" feeds random argv through this). Help and
    /// version output is discarded.
    /// </summary>
    public bool ValidateOnly { get; init; }

    public int Run(IReadOnlyList<string> args)
    {
        string[] prepared;
        try
        {
            prepared = ArgumentPreparer.Prepare(args, _root, _run);
        }
        catch (UsageException e)
        {
            return Fail(ExitCodes.Usage, e.Message);
        }

        ParseResult parseResult = _root.Parse(prepared, s_parserConfiguration);
        if (parseResult.Errors.Count > 0 && parseResult.Action is not CommandLineAction { ClearsParseErrors: true })
        {
            return Fail(ExitCodes.Usage, DescribeParseErrors(parseResult));
        }

        var invocation = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        if (ValidateOnly)
        {
            invocation.Output = TextWriter.Null;
            invocation.Error = TextWriter.Null;
        }

        return parseResult.Invoke(invocation);
    }

    /// <summary>
    /// Runs a command body with its context, turning every exception into one stderr line and an exit code.
    /// </summary>
    /// <param name="validate">
    /// Checks the command's own arguments without side effects (throws <see cref="UsageException"/>);
    /// all that runs under <see cref="ValidateOnly"/>.
    /// </param>
    public int Execute(ParseResult parseResult, string commandName, Func<CommandContext, int> body, Action<CommandContext>? validate = null)
    {
        CommandContext context;
        try
        {
            context = ValidateOnly ? CommandContext.CreateForValidation(parseResult, _globals) : CommandContext.Create(parseResult, _globals);
        }
        catch (UsageException e)
        {
            return Fail(ExitCodes.Usage, e.Message);
        }

        using (context)
        {
            try
            {
                if (ValidateOnly)
                {
                    validate?.Invoke(context);
                    return ExitCodes.Success;
                }

                context.Logger.CommandStarting(commandName, context.JournalDirectory);
                int exitCode = body(context);
                context.FlushOutput();
                return exitCode;
            }
            catch (OutputClosedException)
            {
                context.Logger.OutputClosed();
                return ExitCodes.Success;
            }
            catch (UsageException e)
            {
                return Fail(ExitCodes.Usage, e.Message);
            }
            catch (ScoordException e)
            {
                context.Logger.ErrorDetails(e);
                return Fail(ExitCodes.Failure, e.Message);
            }
            catch (Exception e)
            {
                context.Logger.InternalError(e);
                string hint = context.LogLevel <= LogLevel.Debug ? string.Empty : " (run with -vv for details)";
                return Fail(ExitCodes.Internal, $"internal error: {e.GetType().Name}: {e.Message}{hint}");
            }
        }
    }

    private int Fail(int exitCode, string message)
    {
        _stderr.WriteLine("scoord: " + OneLine(message));
        _stderr.Flush();
        return exitCode;
    }

    /// <summary>Newlines, tabs and runs of spaces become one space: the error is exactly one line.</summary>
    internal static string OneLine(string message)
    {
        var b = new System.Text.StringBuilder(message.Length);
        foreach (char c in message.Trim())
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                if (b.Length > 0 && b[^1] != ' ')
                {
                    b.Append(' ');
                }
            }
            else
            {
                b.Append(c);
            }
        }

        return b.ToString();
    }

    /// <summary>One line for the parse errors: the unrecognized token first (it explains the rest).</summary>
    private static string DescribeParseErrors(ParseResult parseResult)
    {
        ParseError chosen = parseResult.Errors[0];
        foreach (ParseError e in parseResult.Errors)
        {
            if (e.Message.StartsWith("Unrecognized", StringComparison.Ordinal))
            {
                chosen = e;
                break;
            }
        }

        string message = chosen.Message.TrimEnd('.');
        if (message.Length > 0 && char.IsUpper(message[0]))
        {
            message = char.ToLowerInvariant(message[0]) + message[1..];
        }

        return message + " (see 'scoord --help')";
    }
}
