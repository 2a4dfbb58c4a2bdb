using System.Globalization;

namespace Scoord.Cli.Output;

/// <summary>Byte counts for people: "512 B", "1.5 KiB", "3.0 GiB".</summary>
internal static class SizeText
{
    public static string Human(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.Length - 1)
        {
            v /= 1024;
            u++;
        }

        return u == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{v:0.0} {units[u]}");
    }
}
