"""Word Count: how many times each whitespace-separated, lower-cased token occurs."""


def load(batchData, conf):
    words = batchData.flatMap(lambda line: line.split()).map(lambda word: (word.lower(), 1))
    return words.reduceByKey(lambda a, b: a + b)
