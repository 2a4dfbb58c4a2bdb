using System.Globalization;
using System.Text.Json;
using Scoord.Cli.Output;
using Scoord.Journal;

namespace Scoord.Cli.Commands;

/// <summary>
/// `scoord checkpoints [--json]`: every checkpoint, oldest first, with the undo data it holds: the undo
/// bytes of the operations after it up to the next checkpoint (what rolling back to it from the next
/// one needs).
/// </summary>
internal sealed class CheckpointsCommand(CliApplication app)
    : ReportCommand(app, "checkpoints", "List the checkpoints", "JSON Lines: id, name, seq, time, undo_bytes")
{
    protected override int Report(CommandContext context, bool json)
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

        if (json)
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
        o.WriteLine(string.Format(c, "{0,6}  {1,-24} {2,-33}  {3,10}  {4}", "ID", "NAME", "TIME", "SEQ", "UNDO"));
        foreach ((CheckpointInfo k, long undo) in rows)
        {
            string time = TimeText.LocalDateTime(k.TimeNs);
            o.WriteLine(string.Format(c, "{0,6}  {1,-24} {2,-33}  {3,10}  {4}", k.Id, Visible(k.Name), time, k.Seq, SizeText.Human(undo)));
        }
    }

    private static void WriteJson(StdoutWriter o, List<(CheckpointInfo Checkpoint, long UndoBytes)> rows)
    {
        foreach ((CheckpointInfo k, long undo) in rows)
        {
            using (var w = new Utf8JsonWriter(o, JsonOutput.Options))
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
