package util

fun twice(x: Int): Int = 2 * x
