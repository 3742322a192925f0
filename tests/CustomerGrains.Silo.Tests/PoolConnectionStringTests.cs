using CustomerGrains.Silo.Hosting;
using Npgsql;

namespace CustomerGrains.Silo.Tests;

/// <summary>The silo prepares repeated statements and turns JIT compilation off unless the operator's connection string
/// says otherwise.</summary>
public sealed class PoolConnectionStringTests
{
    [Theory]
    [InlineData("Host=db;Username=cg", 64)]
    [InlineData("Host=db;Username=cg;Max Auto Prepare=0", 0)]
    [InlineData("Host=db;Username=cg;maxautoprepare=8", 8)]
    public void Auto_preparation_is_on_unless_the_connection_string_sets_it(string configured, int expected)
    {
        var pool = new NpgsqlConnectionStringBuilder(SiloHosting.PoolConnectionString(configured));

        Assert.Equal(expected, pool.MaxAutoPrepare);
        Assert.Equal("db", pool.Host);
    }

    [Theory]
    [InlineData("Host=db;Username=cg", "-c jit=off")]
    [InlineData("Host=db;Username=cg;Options=-c statement_timeout=5s", "-c statement_timeout=5s")]
    [InlineData("Host=db;Username=cg;Options=-c jit=on", "-c jit=on")]
    public void Jit_is_off_unless_the_connection_string_gives_its_own_options(string configured, string expected)
    {
        var pool = new NpgsqlConnectionStringBuilder(SiloHosting.PoolConnectionString(configured));

        Assert.Equal(expected, pool.Options);
    }
}
