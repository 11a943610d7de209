/* Compiled by gcc under the preloaded allocator in tests/programs/run.sh; the
 * object files and this program's output must match a glibc-only run.  It
 * uses enough language features to give cc1 real work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
	struct node *left, *right;
	int key;
	char name[24];
};

/* Defined in the generated gen.c. */
unsigned long generated_checksum(void);

static struct node *insert(struct node *root, int key)
{
	if (!root) {
		struct node *n = calloc(1, sizeof(*n));
		if (!n)
			exit(1);
		n->key = key;
		snprintf(n->name, sizeof(n->name), "node-%d", key);
		return n;
	}
	if (key < root->key)
		root->left = insert(root->left, key);
	else
		root->right = insert(root->right, key);
	return root;
}

static unsigned long walk(const struct node *n, unsigned long acc)
{
	if (!n)
		return acc;
	acc = walk(n->left, acc);
	for (const char *c = n->name; *c; c++)
		acc = acc * 131 + (unsigned char)*c;
	return walk(n->right, acc);
}

static void release(struct node *n)
{
	if (!n)
		return;
	release(n->left);
	release(n->right);
	free(n);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int main(void)
{
	struct node *root = NULL;
	unsigned seed = 12345;
	int *v = malloc(100000 * sizeof(int));

	if (!v)
		return 1;
	for (int i = 0; i < 100000; i++) {
		seed = seed * 1103515245u + 12345u;
		v[i] = (int)(seed >> 8) % 1000000;
		if (i < 20000)
			root = insert(root, v[i]);
	}
	qsort(v, 100000, sizeof(int), cmp_int);
	printf("min %d median %d max %d\n", v[0], v[50000], v[99999]);
	printf("tree checksum %lu\n", walk(root, 7));
	printf("generated checksum %lu\n", generated_checksum());
	release(root);
	free(v);
	return 0;
}
