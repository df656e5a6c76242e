# sample.em — a tour of the ember language, used as an end-to-end test.
# Output must be byte-identical on every platform.

println("== primes ==");
fn sieve(n) {
    let is_prime = [true] * (n + 1);
    is_prime[0] = false;
    is_prime[1] = false;
    let i = 2;
    while i * i <= n {
        if is_prime[i] {
            let j = i * i;
            while j <= n {
                is_prime[j] = false;
                j += i;
            }
        }
        i += 1;
    }
    return filter(range(n + 1), fn(k) => is_prime[k]);
}
let primes = sieve(100);
println(len(primes), "primes below 100:", primes[..10], "...", primes[-3..]);
println("sum of primes below 10000:", sum(sieve(10000)));

println("== memoised fibonacci ==");
let memo = {};
fn fib(n) {
    if n < 2 { return n; }
    if has(memo, n) { return memo[n]; }
    let v = fib(n - 1) + fib(n - 2);
    memo[n] = v;
    return v;
}
for n in [10, 50, 90] {
    println(format("fib({:2}) = {:20}", n, fib(n)));
}

println("== closures ==");
fn make_account(balance) {
    let history = [];
    return {
        deposit: fn(x) { balance += x; push(history, "+" + str(x)); return balance; },
        withdraw: fn(x) {
            if x > balance { error(format("insufficient funds: balance {} < {}", balance, x)); }
            balance -= x;
            push(history, "-" + str(x));
            return balance;
        },
        history: fn() => join(history, " "),
    };
}
let acct = make_account(100);
acct.deposit(50);
acct.withdraw(30);
try {
    acct.withdraw(500);
} catch e {
    println("error:", e);
}
println("balance", acct.deposit(0), "history", acct.history());

println("== word frequencies ==");
let text = "the quick brown fox jumps over the lazy dog the fox barks and the dog sleeps";
let counts = {};
for w in split(text, " ") {
    counts[w] = (counts[w] || 0) + 1;
}
let ranked = sort(items(counts), fn(kv) => [-kv[1], kv[0]]);
for kv in ranked[..5] {
    println(format("{:-8}{:3} {}", kv[0], kv[1], "*" * kv[1]));
}

println("== quicksort ==");
fn quicksort(xs) {
    if len(xs) <= 1 { return xs; }
    let pivot = xs[len(xs) / 2];
    let less = filter(xs, fn(x) => x < pivot);
    let same = filter(xs, fn(x) => x == pivot);
    let more = filter(xs, fn(x) => x > pivot);
    return quicksort(less) + same + quicksort(more);
}
# A deterministic pseudo-random sequence (linear congruential generator).
let seed = 12345;
fn rand(limit) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % limit;
}
let data = map(range(20), fn(i) => rand(1000));
let sorted = quicksort(data);
println(data);
println(sorted);
assert(sorted == sort(data), "quicksort agrees with sort");

println("== statistics ==");
let samples = map(range(1, 51), fn(i) => float(rand(10000)) / 100.0);
let mean = sum(samples) / len(samples);
let var = sum(map(samples, fn(x) => (x - mean) ** 2)) / len(samples);
println(format("n={} min={:.2} max={:.2} mean={:.4} stddev={:.4}", len(samples), min(samples), max(samples), mean, sqrt(var)));
println("exact:", mean, 0.1 + 0.2, 1 / 3.0, sqrt(2) * 2, 1.5 ** 10, 1e21, -0.0);

println("== matrices ==");
fn matmul(a, b) {
    let rows = len(a);
    let cols = len(b[0]);
    let out = [];
    for i in 0..rows {
        let row = [];
        for j in 0..cols {
            let acc = 0;
            for k in 0..len(b) { acc += a[i][k] * b[k][j]; }
            push(row, acc);
        }
        push(out, row);
    }
    return out;
}
fn matpow(m, n) {
    let result = [[1, 0], [0, 1]];
    while n > 0 {
        if n % 2 == 1 { result = matmul(result, m); }
        n /= 2;
        if n > 0 { m = matmul(m, m); }
    }
    return result;
}
println("fib(91) via matrix power:", matpow([[1, 1], [1, 0]], 91)[0][1], "=", fib(91));
try {
    println(matpow([[1, 1], [1, 0]], 92));
} catch e {
    println("fib(93) overflows:", e);
}

println("== collatz ==");
let best = [0, 0];
let cache = {1: 1};
fn collatz_len(n) {
    let path = [];
    while !has(cache, n) {
        push(path, n);
        if n % 2 == 0 { n /= 2; } else { n = 3 * n + 1; }
    }
    let steps = cache[n];
    for m in reverse(path) {
        steps += 1;
        cache[m] = steps;
    }
    return steps;
}
for n in 1..30000 {
    let l = collatz_len(n);
    if l > best[1] { best = [n, l]; }
}
println("longest chain below 30000 starts at", best[0], "with", best[1], "terms");

println("== strings ==");
let s = "Crossdock cross-compiles";
println(upper(s), lower(s), len(s), reverse(s));
println(replace(s, "cross", "X"), index_of(s, "comp"), s[5..9], starts_with(s, "Cross"));
println(map(chars("héllo"), fn(c) => ord(c)), join(map([72, 105, 33], chr), ""));
println(repr({name: "ember", tags: ["lang", "toy"], version: [0, 3], nested: {ok: true, none: nil}}));
