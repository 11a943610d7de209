# Bash workload for tests/programs/run.sh: string and array building in the
# shell itself (bash allocates every word, variable and array element).
# Deterministic: RANDOM is seeded.
RANDOM=4242

s=""
for ((i = 0; i < 20000; i++)); do
	s+="${i}:"
done
echo "concatenated length ${#s}"

declare -a arr
for ((i = 0; i < 30000; i++)); do
	arr[i]="item-$RANDOM-$((i * i % 977))"
done
echo "array size ${#arr[@]} first ${arr[0]} last ${arr[29999]}"

# Remove every third element, then compact the array.
for ((i = 0; i < 30000; i += 3)); do
	unset 'arr[i]'
done
arr=("${arr[@]}")
echo "after unset ${#arr[@]} elements, [100]=${arr[100]}"

declare -A assoc
for ((i = 0; i < 20000; i++)); do
	key="k$((i % 5000))"
	assoc[$key]+="${i},"
done
total=0
for key in "${!assoc[@]}"; do
	total=$((total + ${#assoc[$key]}))
done
echo "assoc keys ${#assoc[@]} total value length $total"

# Substitutions and slices over a long string.
long=$(printf 'abc%.0s' {1..20000})
echo "long ${#long} replaced ${#long//b/XYZ} slice ${long:30000:9}"
upper=${long^^}
echo "upper ${upper:0:12}"

words=()
read -r -a words <<<"$(seq 1 20000 | tr '\n' ' ')"
sum=0
for w in "${words[@]}"; do
	((sum += w))
done
echo "read ${#words[@]} words, sum $sum"

# Command substitution in a loop: forks a subshell each time.
acc=""
for ((i = 0; i < 200; i++)); do
	acc+=$(printf '%04x' "$((i * 7919 % 65536))")
done
echo "subshell acc ${#acc} ${acc:0:16}"
