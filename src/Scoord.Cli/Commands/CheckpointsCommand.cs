using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Scoord.Cli.Output;
using Scoord.Journal;

namespace Scoord.Cli.Commands;

/// <summary>
/// `scoord checkpoints [--json]`: every checkpoint, oldest first, with the undo data it holds: the undo
/// bytes of the operations after it up to the next checkpoint (what rolling back to it from the next
/// one needs).
/// </summary>
internal sealed class CheckpointsCommand
{
    private readonly CliApplication _app;
    private readonly Option<bool> _json = new("--json") { Description = "JSON Lines: id, name, seq, time, undo_bytes" };

    public CheckpointsCommand(CliApplication app)
    {
        _app = app;
        Command = new Command("checkpoints", "List the checkpoints") { _json };
        Command.SetAction(parseResult => _app.Execute(parseResult, "checkpoints", context => Execute(parseResult, context)));
    }

    public Command Command { get; }

    private int Execute(ParseResult parseResult, CommandContext context)
    {
        var rows = new List<(CheckpointInfo Checkpoint, long UndoBytes)>();
        using (JournalStore store = JournalStore.OpenReadOnly(context.JournalDirectory))
        {
            IReadOnlyList<CheckpointInfo> all = store.Reader.ListCheckpoints();
            for (int i = 0; i < all.Count; i++)
            {
                ulong to = i + 1 < all.Count ? all[i + 1].Seq : ulong.MaxValue;
                rows.Add((all[i], store.Reader.UndoBytes(all[i].Seq + 1, to)));
            }
        }

        if (parseResult.GetValue(_json))
        {
            WriteJson(context.Stdout, rows);
        }
        else
        {
            WriteTable(context.Stdout, rows);
        }

        return ExitCodes.Success;
    }

    private static void WriteTable(StdoutWriter o, List<(CheckpointInfo Checkpoint, long UndoBytes)> rows)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        o.WriteLine(string.Format(c, "{0,6}  {1,-24} {2,-26}  {3,10}  {4}", "ID", "NAME", "TIME", "SEQ", "UNDO"));
        foreach ((CheckpointInfo k, long undo) in rows)
        {
            string time = TimeText.FromNs(k.TimeNs).ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss.ffffff", c);
            o.WriteLine(string.Format(c, "{0,6}  {1,-24} {2,-26}  {3,10}  {4}", k.Id, Visible(k.Name), time, k.Seq, StatusCommand.HumanSize(undo)));
        }
    }

    private static void WriteJson(StdoutWriter o, List<(CheckpointInfo Checkpoint, long UndoBytes)> rows)
    {
        var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        foreach ((CheckpointInfo k, long undo) in rows)
        {
            using (var w = new Utf8JsonWriter(o, options))
            {
                w.WriteStartObject();
                w.WriteNumber("id", k.Id);
                w.WriteString("name", k.Name);
                w.WriteNumber("seq", k.Seq);
                w.WriteString("time", TimeText.Rfc3339Utc(k.TimeNs));
                w.WriteNumber("undo_bytes", undo);
                w.WriteEndObject();
            }

            o.WriteLine();
        }
    }

    /// <summary>Names cannot hold control characters (CheckpointNames); this only guards old or odd records.</summary>
    private static string Visible(string name)
    {
        var b = new System.Text.StringBuilder(name.Length);
        foreach (char ch in name)
        {
            b.Append(char.IsControl(ch) ? '?' : ch);
        }

        return b.ToString();
    }
}
