using Scoord.Cli;
using Scoord.Cli.Parsing;
using Xunit;

namespace Scoord.Tests.Cli;

public sealed class DurationParserTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("30s", 30_000)]
    [InlineData("5m", 300_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1d", 86_400_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("1h30m", 5_400_000)]
    public void Parses(string text, double milliseconds)
    {
        Assert.True(DurationParser.TryParse(text, out TimeSpan d));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), d);
    }

    [Theory]
    [InlineData("")]
    [InlineData("30")]
    [InlineData("s")]
    [InlineData("0s")]
    [InlineData("-5s")]
    [InlineData("5 minutes")]
    [InlineData("5x")]
    [InlineData("1..5s")]
    public void Rejects(string text)
    {
        Assert.False(DurationParser.TryParse(text, out _));
        UsageException e = Assert.Throws<UsageException>(() => DurationParser.Parse("--checkpoint-every", text));
        Assert.Contains("--checkpoint-every", e.Message, StringComparison.Ordinal);
    }
}
