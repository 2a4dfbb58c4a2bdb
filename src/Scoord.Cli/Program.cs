namespace Scoord.Cli;

internal static class Program
{
    public static int Main(string[] args) => new CliApplication(Console.Error).Run(args);
}
