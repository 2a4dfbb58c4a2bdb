using Scoord.Coordinator;
using Scoord.Cli;
using Scoord.Cli.Filtering;
using Xunit;

namespace Scoord.Tests.Cli;

public sealed class PathGlobTests
{
    [Theory]
    [InlineData("/tmp/a.txt", "/tmp/a.txt")]
    [InlineData("/tmp/*.txt", "/tmp/a.txt")]
    [InlineData("/tmp/*", "/tmp/.hidden")]
    [InlineData("/tmp/a?c", "/tmp/abc")]
    [InlineData("/tmp/[abc].txt", "/tmp/b.txt")]
    [InlineData("/tmp/[a-c].txt", "/tmp/c.txt")]
    [InlineData("/tmp/[!a-c].txt", "/tmp/d.txt")]
    [InlineData("/tmp/[^a-c].txt", "/tmp/d.txt")]
    [InlineData("/tmp/[]]x", "/tmp/]x")]
    [InlineData("/tmp/**", "/tmp/a/b/c")]
    [InlineData("/tmp/**/c", "/tmp/c")]
    [InlineData("/tmp/**/c", "/tmp/a/b/c")]
    [InlineData("/**/*.o", "/src/x/y.o")]
    [InlineData("/tmp/a**", "/tmp/ab/c")]
    [InlineData("*.o", "/src/x/y.o")]
    [InlineData("src/*.c", "/home/me/src/main.c")]
    [InlineData("/tmp/\\*", "/tmp/*")]
    [InlineData("/tmp/[", "/tmp/[")]
    [InlineData("/tmp/*/*/*", "/tmp/a/b/c")]
    [InlineData("/tmp/\uDCFF*", "/tmp/\uDCFFname")]
    public void Matches(string pattern, string path)
    {
        Assert.True(PathGlob.Parse(pattern).IsMatch(path), $"{pattern} should match {path}");
    }

    [Theory]
    [InlineData("/tmp/*.txt", "/tmp/d/a.txt")]
    [InlineData("/tmp/*", "/tmp")]
    [InlineData("/tmp/a?c", "/tmp/a/c")]
    [InlineData("/tmp/[abc].txt", "/tmp/d.txt")]
    [InlineData("/tmp/[!a-c].txt", "/tmp/a.txt")]
    [InlineData("/tmp/[!x]", "/tmp//")]
    [InlineData("/tmp/**/c", "/tmp/a/bc")]
    [InlineData("/tmp/a.txt", "/tmp/a.txt2")]
    [InlineData("/tmp/a.txt", "/x/tmp/a.txt")]
    [InlineData("src/*.c", "/home/me/src/sub/main.c")]
    [InlineData("src/*.c", "/home/me/mysrc/main.c")]
    [InlineData("/tmp/\\*", "/tmp/a")]
    public void DoesNotMatch(string pattern, string path)
    {
        Assert.False(PathGlob.Parse(pattern).IsMatch(path), $"{pattern} should not match {path}");
    }

    [Fact]
    public void Many_stars_on_a_long_path_stay_fast()
    {
        // Without the memo this pattern backtracks exponentially.
        var glob = PathGlob.Parse("/" + string.Concat(Enumerable.Repeat("**a", 12)) + "b");
        string path = "/" + new string('a', 200);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(glob.IsMatch(path));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.Elapsed}");
    }

    [Fact]
    public void An_instance_can_be_reused_for_paths_of_any_length()
    {
        var glob = PathGlob.Parse("/a/**/z");
        Assert.True(glob.IsMatch("/a/" + string.Join('/', Enumerable.Repeat("dir", 300)) + "/z"));
        Assert.True(glob.IsMatch("/a/z"));
        Assert.False(glob.IsMatch("/a/y"));
        Assert.True(glob.IsMatch("/a/b/z"));
    }

    [Fact]
    public void Empty_pattern_is_a_usage_error()
    {
        Assert.Throws<ArgumentException>(() => PathGlob.Parse(""));
    }
}
