using System.Globalization;

namespace Scoord.Cli.Output;

/// <summary>Journal times (ns since the Unix epoch, CLOCK_REALTIME) as text.</summary>
internal static class TimeText
{
    public static DateTimeOffset FromNs(long ns) => DateTimeOffset.UnixEpoch.AddTicks(ns / 100);

    /// <summary>RFC 3339, UTC, microseconds: 2025-11-24T11:40:00.123456Z.</summary>
    public static string Rfc3339Utc(long ns) =>
        FromNs(ns).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static string Rfc3339Utc(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Local wall-clock time of day with microseconds and the zone's offset, for the table: 11:40:00.123456+01:00.</summary>
    public static string LocalTimeOfDay(long ns) =>
        FromNs(ns).ToLocalTime().ToString("HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture);

    /// <summary>Local date and time with microseconds and the zone's offset: 2025-11-24 11:40:00.123456 +01:00.</summary>
    public static string LocalDateTime(long ns) => LocalDateTime(FromNs(ns));

    public static string LocalDateTime(DateTimeOffset t) =>
        t.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss.ffffff zzz", CultureInfo.InvariantCulture);
}
