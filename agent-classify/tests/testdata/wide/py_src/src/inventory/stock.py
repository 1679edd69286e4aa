"""Stock levels per item."""


class Stock:
    def __init__(self):
        self.levels = {}

    def add(self, item, count):
        if count < 0:
            raise ValueError(f"negative count for {item}: {count}")
        self.levels[item] = self.levels.get(item, 0) + count

    def remove(self, item, count):
        have = self.levels[item]
        self.levels[item] = have - count

    def total(self):
        return sum(self.levels.values())
