using System.Globalization;
using Scoord.Journal;
using Scoord.Journal.Undo;

namespace Scoord.Cli.Output;

/// <summary>`scoord log --undo`: one indented line per undo item.</summary>
internal static class UndoText
{
    public static string Describe(UndoItem i)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        string what = i.Kind switch
        {
            UndoKind.ObjectState => "state",
            UndoKind.Blocks => "blocks",
            UndoKind.Content => "content",
            _ => "post",
        };
        string role = i.Role switch
        {
            UndoRole.Parent => "parent",
            UndoRole.Target => "target",
            UndoRole.Second => "second",
            _ => "object",
        };
        string path = i.Path.Length == 0 ? "-" : PathText.ToText(i.Path);
        return i.Kind switch
        {
            UndoKind.Blocks => string.Create(c, $"           {what,-7} {role,-7} {i.Dev}:{i.Ino} [{i.Offset}, +{i.Length}){((i.Flags & UndoFlags.Hole) != 0 ? " hole" : "")} size {i.Size} {path}"),
            UndoKind.Content => string.Create(c, $"           {what,-7} {role,-7} {i.Dev}:{i.Ino} [{i.Offset}, +{i.Length})"),
            _ when !i.Existed => string.Create(c, $"           {what,-7} {role,-7} absent {path}"),
            _ => string.Create(c, $"           {what,-7} {role,-7} {i.Dev}:{i.Ino} mode {Convert.ToString(i.Mode, 8)} size {i.Size} nlink {i.Nlink} mtime {i.MtimeNs}{((i.Flags & UndoFlags.HasContent) != 0 ? " +content" : "")} {path}"),
        };
    }
}
