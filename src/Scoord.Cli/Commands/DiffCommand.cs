using System.CommandLine;
using System.Text.Json;
using Scoord.Cli.Output;
using Scoord.Coordinator.Rollback;

namespace Scoord.Cli.Commands;

/// <summary>
/// `scoord diff CKPT [--json]`: what changed since a checkpoint, from the journal, like `git status`:
/// A created, M modified (byte counts), D deleted, R renamed (old -> new), m metadata only.
/// </summary>
internal sealed class DiffCommand
{
    private readonly CliApplication _app;
    private readonly Argument<string> _checkpoint = new("CKPT") { Description = "Checkpoint id (all digits) or name" };
    private readonly Option<bool> _json = new("--json") { Description = "JSON Lines: {path, change, path2, bytes} per change" };

    public DiffCommand(CliApplication app)
    {
        _app = app;
        Command = new Command("diff", "Show what changed since a checkpoint") { _checkpoint, _json };
        Command.SetAction(parseResult => _app.Execute(parseResult, "diff", context => Execute(parseResult, context)));
    }

    public Command Command { get; }

    private int Execute(ParseResult parseResult, CommandContext context)
    {
        IReadOnlyList<PathChange> changes = JournalDiff.Compute(context.JournalDirectory, parseResult.GetValue(_checkpoint)!);
        bool json = parseResult.GetValue(_json);
        foreach (PathChange c in changes)
        {
            if (!json)
            {
                context.Stdout.WriteLine(c.ToText());
                continue;
            }

            using (var w = new Utf8JsonWriter(context.Stdout, JsonOutput.Options))
            {
                w.WriteStartObject();
                w.WriteString("path", c.Path);
                w.WriteString("change", c.Word);
                if (c.Path2 is null)
                {
                    w.WriteNull("path2");
                }
                else
                {
                    w.WriteString("path2", c.Path2);
                }

                if (c.Bytes is long b)
                {
                    w.WriteNumber("bytes", b);
                }
                else
                {
                    w.WriteNull("bytes");
                }

                w.WriteEndObject();
            }

            context.Stdout.WriteLine();
        }

        return ExitCodes.Success;
    }
}
