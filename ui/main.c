/* main.c - command line and main loop (being written). */
#include <stdio.h>

int main(int argc, char **argv)
{
    fprintf(stderr, "kasou: not yet\n");
    return 1;
}
